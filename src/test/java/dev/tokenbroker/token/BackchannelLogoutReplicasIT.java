package dev.tokenbroker.token;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tokenbroker.devmode.RedisServer;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.BrokerProcess;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.upstream.LogoutTokens;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * OIDC Back-Channel Logout across two packaged replicas on one Redis, with a real OpenID provider
 * (mock-oauth2-server) as the upstream: a logout token by {@code sid}, posted to one replica, ends exactly the
 * sessions of that upstream session, whichever replica created them; every other session stays alive.
 */
class BackchannelLogoutReplicasIT {

    static final String REDIRECT = "clover://auth-callback";

    static RedisServer redis;
    static MockUpstreamResource upstream;
    static String issuer;

    @BeforeAll
    static void startInfrastructure() {
        redis = RedisServer.start();
        upstream = new MockUpstreamResource();
        issuer = upstream.start().get("broker.upstream.issuer");
    }

    @AfterAll
    static void stopInfrastructure() {
        upstream.stop();
        redis.close();
    }

    static Map<String, String> productionEnv() {
        Map<String, String> env = BrokerProcess.baseEnv(redis.uri());
        env.put("BROKER_UPSTREAM_ISSUER", issuer);
        env.put("BROKER_CLIENTS_CLOVER_CLIENT_ID", Broker.MOBILE);
        env.put("BROKER_CLIENTS_CLOVER_CLIENT_SECRET", "env-secret");
        env.put("BROKER_CLIENTS_CLOVER_REDIRECT_URIS", REDIRECT);
        return env;
    }

    @Test
    void aLogoutTokenBySidPostedToOneReplicaEndsTheMatchingSessionsOfBothReplicasOnly() throws Exception {
        try (BrokerProcess a = BrokerProcess.launch(productionEnv());
                BrokerProcess b = BrokerProcess.launch(productionEnv())) {
            a.awaitReady();
            b.awaitReady();
            String user = "user-" + UUID.randomUUID();
            String sid = "sid-" + UUID.randomUUID();
            String onA = session(a, user, sid);
            String onB = session(b, user, sid);
            String sameUserOtherSid = session(a, user, "sid-" + UUID.randomUUID());
            String otherUser = session(b, "user-" + UUID.randomUUID(), "sid-" + UUID.randomUUID());
            MockUpstreamResource.drainRecordedRequests();

            String logoutToken = signedByUpstream(sid, user);
            logout(b, logoutToken).statusCode(200).header("Cache-Control", "no-store");

            // Each ended session is refused on both replicas; the others still refresh on both.
            refresh(a, onB).statusCode(400).body("error", equalTo("invalid_grant"));
            refresh(b, onA).statusCode(400).body("error", equalTo("invalid_grant"));
            refresh(a, onA).statusCode(400).body("error", equalTo("invalid_grant"));
            String next = refresh(b, sameUserOtherSid).statusCode(200).extract().path("refresh_token");
            refresh(a, next).statusCode(200);
            refresh(a, otherUser).statusCode(200);
            List<String> revoked = MockUpstreamResource.revokedRefreshTokens();
            assertEquals(2, revoked.size(), "the two ended sessions' upstream refresh tokens, once each: " + revoked);
            assertEquals(2, Set.copyOf(revoked).size());

            // The jti is remembered in Redis: the other replica refuses the same token as a replay.
            logout(a, logoutToken).statusCode(400).body("error", equalTo("invalid_request"));
        }
    }

    /** A session of {@code subject} whose ID token carries {@code sid}, created through {@code broker}. */
    private static String session(BrokerProcess broker, String subject, String sid) throws Exception {
        MockUpstreamResource.server()
                .enqueueCallback(
                        new DefaultOAuth2TokenCallback("connect", subject, "JWT", null, Map.of("sid", sid), 3600));
        String code = MockUpstreamResource.authorize(Broker.MOBILE, REDIRECT, Broker.VERIFIER);
        return given().baseUri(broker.baseUrl())
                .contentType(ContentType.URLENC)
                .formParams(Broker.params(
                        "grant_type",
                        "authorization_code",
                        "client_id",
                        Broker.MOBILE,
                        "code",
                        code,
                        "redirect_uri",
                        REDIRECT,
                        "code_verifier",
                        Broker.VERIFIER))
                .post("/oauth2/token")
                .then()
                .statusCode(200)
                .extract()
                .path("refresh_token");
    }

    private static ValidatableResponse refresh(BrokerProcess broker, String handle) {
        return given().baseUri(broker.baseUrl())
                .contentType(ContentType.URLENC)
                .formParams(Broker.params(
                        "grant_type", "refresh_token", "client_id", Broker.MOBILE, "refresh_token", handle))
                .post("/oauth2/token")
                .then();
    }

    private static ValidatableResponse logout(BrokerProcess broker, String token) {
        return given().baseUri(broker.baseUrl())
                .contentType(ContentType.URLENC)
                .formParam("logout_token", token)
                .post("/oidc/backchannel-logout")
                .then();
    }

    /** A logout token signed by the upstream's own key, as its back-channel logout would send it. */
    private static String signedByUpstream(String sid, String subject) {
        return MockUpstreamResource.server()
                .issueToken(
                        "connect",
                        Broker.MOBILE,
                        new DefaultOAuth2TokenCallback(
                                "connect",
                                subject,
                                "logout+jwt",
                                List.of(Broker.MOBILE),
                                Map.of("sid", sid, "events", Map.of(LogoutTokens.EVENT, Map.of())),
                                120))
                .serialize();
    }
}
