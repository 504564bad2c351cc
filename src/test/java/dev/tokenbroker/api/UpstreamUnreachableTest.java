package dev.tokenbroker.api;

import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.devmode.RedisServer;
import dev.tokenbroker.session.SessionStore;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StoredSessions;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** An upstream nobody listens on: the refresh never left, so its lock is released at once. */
@QuarkusTest
@TestProfile(UpstreamUnreachableTest.ClosedPort.class)
@WithTestResource(RedisResource.class)
class UpstreamUnreachableTest {

    public static class ClosedPort implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            String base = "http://127.0.0.1:" + RedisServer.freePort() + "/connect";
            return Map.of(
                    "broker.upstream.token-endpoint",
                    base + "/token",
                    "broker.upstream.revocation-endpoint",
                    base + "/revocation");
        }
    }

    @Inject
    SessionStore store;

    @Inject
    RedisDataSource redis;

    @Test
    void aRefreshThatCouldNotConnectReleasesItsLockSoTheNextOneIsNotBlocked() {
        Handles.Handle handle = Handles.newHandle();
        store.create(new SessionStore.NewSession(
                        handle.sessionId(),
                        handle.secretHash(),
                        Broker.MOBILE,
                        "openid",
                        null,
                        null,
                        "RT-0",
                        null,
                        null))
                .await()
                .indefinitely();

        for (int attempt = 0; attempt < 2; attempt++) {
            Broker.refresh(Broker.MOBILE, handle.value())
                    .statusCode(502)
                    .body("error", equalTo("temporarily_unavailable"));
            assertFalse(StoredSessions.locked(redis, handle.value()), "the request never reached the upstream");
        }
    }
}
