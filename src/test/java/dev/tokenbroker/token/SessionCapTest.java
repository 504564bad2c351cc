package dev.tokenbroker.token;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StoredSessions;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code broker.clients.capped.max-sessions-per-user=2} (test profile) against a real Redis and a real OpenID
 * provider: a user's third sign-in ends that user's oldest session of that client, revokes its upstream refresh
 * token and says so in the audit log; newer sessions, other users and other clients are left alone.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
class SessionCapTest {

    static final String CAPPED = "clover-capped";
    static final String CAPPED_REDIRECT = "clover-capped://cb";

    @Inject
    RedisDataSource redis;

    @Inject
    KeyRing keyRing;

    @Inject
    MeterRegistry registry;

    @Test
    void aSignInBeyondTheCapEndsTheUsersOldestSessionOfThatClientOnly() throws Exception {
        String user = "user-" + UUID.randomUUID();
        String oldest = session(CAPPED, CAPPED_REDIRECT, user);
        String older = session(CAPPED, CAPPED_REDIRECT, user);
        String sameUserOtherClient = session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user);
        String otherUser = session(CAPPED, CAPPED_REDIRECT, "user-" + UUID.randomUUID());
        String oldestUpstreamToken = StoredSessions.upstreamRefreshToken(redis, keyRing, oldest);
        String olderUpstreamToken = StoredSessions.upstreamRefreshToken(redis, keyRing, older);
        double endedBefore = endedForMaxSessions();
        MockUpstreamResource.drainRecordedRequests();

        String newest = session(CAPPED, CAPPED_REDIRECT, user);

        assertTrue(StoredSessions.of(redis, oldest).isEmpty(), "the oldest session is gone from Redis");
        var revoked = MockUpstreamResource.revokedRefreshTokens();
        assertEquals(1, revoked.size(), revoked.toString());
        assertEquals(oldestUpstreamToken, revoked.get(0), "its upstream refresh token is revoked at the upstream");
        assertFalse(revoked.contains(olderUpstreamToken));
        Broker.refresh(CAPPED, oldest).statusCode(400).body("error", equalTo("invalid_grant"));
        Broker.refresh(CAPPED, older).statusCode(200);
        Broker.refresh(CAPPED, newest).statusCode(200);
        Broker.refresh(Broker.MOBILE, sameUserOtherClient).statusCode(200);
        Broker.refresh(CAPPED, otherUser).statusCode(200);
        assertEquals(endedBefore + 1, endedForMaxSessions(), "broker_sessions_ended_total{reason=max_sessions}");

        String log = Files.readString(Path.of("target", "broker-test.log"));
        assertTrue(
                log.contains("event=session_ended session=" + StoredSessions.id(oldest)
                        + " client=capped reason=max_sessions"),
                "audit line of the ended session");
        assertTrue(
                log.contains("event=max_sessions_per_user session=" + StoredSessions.id(newest)
                        + " client=capped max=2 sessions_ended=1 action=oldest_sessions_ended"),
                "audit line of the sign-in that went over the cap");
    }

    @Test
    void aClientWithoutCapKeepsEverySessionOfAUser() throws Exception {
        String user = "user-" + UUID.randomUUID();
        String first = session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user);
        session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user);
        session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user);

        Broker.refresh(Broker.MOBILE, first).statusCode(200);
    }

    private double endedForMaxSessions() {
        return registry.get("broker.sessions.ended")
                .tag("reason", "max_sessions")
                .counter()
                .count();
    }

    private String session(String clientId, String redirectUri, String subject) throws Exception {
        String handle = MockUpstreamResource.signIn(clientId, redirectUri, subject, Map.of());
        assertFalse(StoredSessions.of(redis, handle).isEmpty());
        return handle;
    }
}
