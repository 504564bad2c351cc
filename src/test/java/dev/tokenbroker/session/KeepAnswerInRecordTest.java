package dev.tokenbroker.session;

import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StoredSessions;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * {@code broker.session.keep-answer-in-record}, for a rolling update from a broker that read a session's last answer
 * only from its record: every commit writes it there too, the same envelope as in its own key, and a retry with the
 * retired handle is still answered with it.
 */
@QuarkusTest
@TestProfile(KeepAnswerInRecordTest.KeepInRecord.class)
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
class KeepAnswerInRecordTest {

    public static class KeepInRecord implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("broker.session.keep-answer-in-record", "true");
        }
    }

    @Inject
    RedisDataSource redis;

    @Test
    void aRefreshKeepsItsAnswerInTheRecordAsWellAsInItsOwnKey() throws Exception {
        String code = MockUpstreamResource.authorize(Broker.MOBILE, Broker.MOBILE_REDIRECT, Broker.VERIFIER);
        String handle = Broker.exchange(Broker.MOBILE, code, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        String next =
                Broker.refresh(Broker.MOBILE, handle).statusCode(200).extract().path("refresh_token");

        String id = StoredSessions.id(handle);
        String inOwnKey = redis.value(String.class).get(StoredSessions.KEYS.lastAnswer(id));
        assertNotNull(inOwnKey, "the answer's own key");
        assertEquals(inOwnKey, StoredSessions.of(redis, handle).get("issued"), "the same envelope in both places");
        Broker.refresh(Broker.MOBILE, handle).statusCode(200).body("refresh_token", equalTo(next));
    }
}
