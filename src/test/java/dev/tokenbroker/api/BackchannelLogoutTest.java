package dev.tokenbroker.api;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.jose4j.jwk.RsaJsonWebKey;
import org.jose4j.jwk.RsaJwkGenerator;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StoredSessions;
import dev.tokenbroker.upstream.LogoutTokens;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * OIDC Back-Channel Logout 1.0 against a real OpenID provider: logout tokens signed by its keys (mock-oauth2-server
 * mints them with chosen claims) end exactly the matching sessions; forged or invalid ones are refused with 400.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
class BackchannelLogoutTest {

    @Inject
    RedisDataSource redis;

    @Inject
    KeyRing keyRing;

    @Inject
    MeterRegistry registry;

    @TestHTTPResource("/oidc/backchannel-logout")
    URI endpoint;

    @BeforeEach
    void drainRecordedRequests() {
        MockUpstreamResource.drainRecordedRequests();
    }

    @Test
    void aValidTokenBySidEndsExactlyThatUpstreamSessionsSessionsOfThatClient() throws Exception {
        String user = "user-" + UUID.randomUUID();
        String sid = "sid-" + UUID.randomUUID();
        String first = session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user, sid);
        String second = session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user, sid);
        String otherSid = session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user, "sid-" + UUID.randomUUID());
        String otherClient = session(Broker.WEB, "https://app.example/callback", user, sid);
        List<String> upstreamTokens = List.of(
                StoredSessions.upstreamRefreshToken(redis, keyRing, first),
                StoredSessions.upstreamRefreshToken(redis, keyRing, second));
        drainRecordedRequests();

        logout(signedByUpstream(Map.of("sid", sid, "events", event()), user, Broker.MOBILE))
                .statusCode(200)
                .header("Cache-Control", "no-store");

        Broker.refresh(Broker.MOBILE, first).statusCode(400).body("error", equalTo("invalid_grant"));
        Broker.refresh(Broker.MOBILE, second).statusCode(400).body("error", equalTo("invalid_grant"));
        Broker.refresh(Broker.MOBILE, otherSid).statusCode(200);
        Broker.refresh(Broker.WEB, otherClient).statusCode(200);
        assertTrue(
                MockUpstreamResource.revokedRefreshTokens().containsAll(upstreamTokens),
                "both upstream refresh tokens revoked at the upstream");
    }

    @Test
    void aValidTokenBySubOnlyEndsAllOfThatUsersSessionsOfThatClient() throws Exception {
        String user = "user-" + UUID.randomUUID();
        String a = session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user, "sid-" + UUID.randomUUID());
        String b = session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user, "sid-" + UUID.randomUUID());
        String web = session(Broker.WEB, "https://app.example/callback", user, "sid-" + UUID.randomUUID());
        String someoneElse = session(Broker.MOBILE, Broker.MOBILE_REDIRECT, "user-" + UUID.randomUUID(), null);
        String upstreamToken = StoredSessions.upstreamRefreshToken(redis, keyRing, a);
        drainRecordedRequests();

        logout(signedByUpstream(Map.of("events", event()), user, Broker.MOBILE)).statusCode(200);

        Broker.refresh(Broker.MOBILE, a).statusCode(400).body("error", equalTo("invalid_grant"));
        Broker.refresh(Broker.MOBILE, b).statusCode(400).body("error", equalTo("invalid_grant"));
        Broker.refresh(Broker.WEB, web).statusCode(200);
        Broker.refresh(Broker.MOBILE, someoneElse).statusCode(200);
        assertTrue(MockUpstreamResource.revokedRefreshTokens().contains(upstreamToken));
    }

    @Test
    void aRepeatedLogoutIsIdempotentButTheSameJtiIsAReplay() throws Exception {
        String user = "user-" + UUID.randomUUID();
        String sid = "sid-" + UUID.randomUUID();
        session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user, sid);
        String token = signedByUpstream(Map.of("sid", sid, "events", event()), user, Broker.MOBILE);
        logout(token).statusCode(200);
        logout(signedByUpstream(Map.of("sid", sid, "events", event()), user, Broker.MOBILE))
                .statusCode(200);
        rejected(token);
    }

    @Test
    void tokensThatFailAVerificationRuleAreRefusedAndEndNothing() throws Exception {
        String user = "user-" + UUID.randomUUID();
        String sid = "sid-" + UUID.randomUUID();
        String handle = session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user, sid);
        Map<String, Object> valid = Map.of("sid", sid, "events", event());

        // wrong key: same claims, signed by a key the upstream's JWKS does not hold
        rejected(forged(user, sid, AlgorithmIdentifiers.RSA_USING_SHA256, null));
        // alg none, unsigned and with a made-up signature
        rejected(unsigned(user, sid, ""));
        rejected(unsigned(user, sid, "c2lnbmF0dXJl"));
        // wrong audience, wrong issuer
        rejected(signedByUpstream(valid, user, "someone-else"));
        rejected(signedByUpstream(with(valid, "iss", "https://impostor.example/connect"), user, Broker.MOBILE));
        // signed by the same server's key for another issuer
        rejected(MockUpstreamResource.server()
                .issueToken(
                        "other",
                        Broker.MOBILE,
                        new DefaultOAuth2TokenCallback("other", user, "logout+jwt", List.of(Broker.MOBILE), valid, 120))
                .serialize());
        // missing or wrong events
        rejected(signedByUpstream(Map.of("sid", sid), user, Broker.MOBILE));
        rejected(signedByUpstream(
                Map.of("sid", sid, "events", Map.of("http://schemas.openid.net/event/other", Map.of())),
                user,
                Broker.MOBILE));
        // a nonce (it would be an ID token)
        rejected(signedByUpstream(with(valid, "nonce", "n-1"), user, Broker.MOBILE));
        // stale iat
        rejected(signedByUpstream(
                with(valid, "iat", Instant.now().minusSeconds(3600).getEpochSecond()), user, Broker.MOBILE));
        // typ of another kind of token
        rejected(MockUpstreamResource.server()
                .issueToken(
                        "connect",
                        Broker.MOBILE,
                        new DefaultOAuth2TokenCallback("connect", user, "JWT", List.of(Broker.MOBILE), valid, 120))
                .serialize());
        // not a JWT at all; no token
        rejected("not-a-jwt");
        given().contentType(ContentType.URLENC)
                .formParam("other", "x")
                .post("/oidc/backchannel-logout")
                .then()
                .statusCode(400)
                .body("error", equalTo("invalid_request"));

        Broker.refresh(Broker.MOBILE, handle).statusCode(200);
        assertTrue(registry.find("broker.backchannel.logouts")
                        .tag("outcome", "nonce")
                        .counter()
                        .count()
                >= 1);
        assertTrue(registry.find("broker.backchannel.logouts")
                        .tag("outcome", "events")
                        .counter()
                        .count()
                >= 2);
        assertTrue(registry.find("broker.backchannel.logouts")
                        .tag("outcome", "audience")
                        .counter()
                        .count()
                >= 1);
        assertTrue(registry.find("broker.backchannel.logouts")
                        .tag("outcome", "issuer")
                        .counter()
                        .count()
                >= 1);
        assertTrue(registry.find("broker.backchannel.logouts")
                        .tag("outcome", "iat")
                        .counter()
                        .count()
                >= 1);
        assertTrue(registry.find("broker.backchannel.logouts")
                        .tag("outcome", "algorithm")
                        .counter()
                        .count()
                >= 2);
    }

    @Test
    void aStormOfAThousandLogoutTokensCompletesWithoutErrors() throws Exception {
        String user = "user-" + UUID.randomUUID();
        String sid = "sid-" + UUID.randomUUID();
        String handle = session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user, sid);
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            tokens.add(signedByUpstream(
                    Map.of("sid", i == 500 ? sid : "storm-" + i, "events", event()), user, Broker.MOBILE));
        }
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        ExecutorService pool = Executors.newFixedThreadPool(32);
        try {
            List<Future<Integer>> answers = new ArrayList<>();
            for (String token : tokens) {
                HttpRequest request = HttpRequest.newBuilder(endpoint)
                        .timeout(Duration.ofSeconds(60))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .POST(HttpRequest.BodyPublishers.ofString("logout_token=" + token))
                        .build();
                answers.add(pool.submit(() -> http.send(request, HttpResponse.BodyHandlers.discarding())
                        .statusCode()));
            }
            Map<Integer, Integer> byStatus = new HashMap<>();
            for (Future<Integer> answer : answers) {
                byStatus.merge(answer.get(120, TimeUnit.SECONDS), 1, Integer::sum);
            }
            assertEquals(Map.of(200, 1000), byStatus);
        } finally {
            pool.shutdownNow();
        }
        Broker.refresh(Broker.MOBILE, handle).statusCode(400).body("error", equalTo("invalid_grant"));
    }

    @Test
    void theActiveSessionsGaugeCountsCreatedSessionsAndForgetsEndedOnes() throws Exception {
        String user = "user-" + UUID.randomUUID();
        double before = settledActiveMobileSessions();
        session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user, null);
        session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user, null);
        // A read shows what the previous one found: the count catches up within a read or two.
        Await.until("the gauge counts both", Duration.ofSeconds(10), () -> activeMobileSessions() == before + 2);
        logout(signedByUpstream(Map.of("events", event()), user, Broker.MOBILE)).statusCode(200);
        Await.until("the gauge forgets both", Duration.ofSeconds(10), () -> activeMobileSessions() == before);
        assertTrue(registry.find("broker.sessions.ended")
                        .tag("reason", "backchannel_logout")
                        .counter()
                        .count()
                >= 2);
    }

    /** The gauge once two reads in a row agree: it shows what the previous read found. */
    private double settledActiveMobileSessions() {
        double[] last = {Double.NaN};
        Await.until("the active-sessions gauge settles", Duration.ofSeconds(10), () -> {
            double previous = last[0];
            last[0] = activeMobileSessions();
            return !Double.isNaN(last[0]) && last[0] == previous;
        });
        return last[0];
    }

    private double activeMobileSessions() {
        return registry.find("broker.sessions.active")
                .tag("client", "clover")
                .gauge()
                .value();
    }

    // --- helpers

    private static Map<String, Object> event() {
        return Map.of(LogoutTokens.EVENT, Map.of());
    }

    private static Map<String, Object> with(Map<String, Object> claims, String name, Object value) {
        Map<String, Object> copy = new HashMap<>(claims);
        copy.put(name, value);
        return copy;
    }

    private static ValidatableResponse logout(String token) {
        return given().contentType(ContentType.URLENC)
                .formParam("logout_token", token)
                .post("/oidc/backchannel-logout")
                .then();
    }

    private static void rejected(String token) {
        logout(token).statusCode(400).header("Cache-Control", "no-store").body("error", equalTo("invalid_request"));
    }

    /** A logout token signed by the upstream's own key, as its back-channel logout would send it. */
    private static String signedByUpstream(Map<String, Object> claims, String subject, String audience) {
        return MockUpstreamResource.server()
                .issueToken(
                        "connect",
                        audience,
                        new DefaultOAuth2TokenCallback(
                                "connect", subject, "logout+jwt", List.of(audience), claims, 120))
                .serialize();
    }

    private static JwtClaims claims(String subject, String sid) {
        JwtClaims claims = new JwtClaims();
        claims.setIssuer(MockUpstreamResource.server().issuerUrl("connect").toString());
        claims.setAudience(Broker.MOBILE);
        claims.setSubject(subject);
        claims.setClaim("sid", sid);
        claims.setIssuedAtToNow();
        claims.setExpirationTimeMinutesInTheFuture(2);
        claims.setGeneratedJwtId();
        claims.setClaim("events", Map.of(LogoutTokens.EVENT, Map.of()));
        return claims;
    }

    private static String forged(String subject, String sid, String alg, String kid) throws Exception {
        RsaJsonWebKey key = RsaJwkGenerator.generateJwk(2048);
        key.setKeyId(kid == null ? "forged" : kid);
        JsonWebSignature jws = new JsonWebSignature();
        jws.setPayload(claims(subject, sid).toJson());
        jws.setKey(key.getPrivateKey());
        jws.setKeyIdHeaderValue(key.getKeyId());
        jws.setAlgorithmHeaderValue(alg);
        jws.setHeader("typ", "logout+jwt");
        return jws.getCompactSerialization();
    }

    private static String unsigned(String subject, String sid, String signature) throws Exception {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return b64.encodeToString("{\"alg\":\"none\",\"typ\":\"logout+jwt\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(claims(subject, sid).toJson().getBytes(StandardCharsets.UTF_8)) + "." + signature;
    }

    /** A session of {@code subject} whose ID token carries {@code sid} (none when null), as a front end gets it. */
    private String session(String clientId, String redirectUri, String subject, String sid) throws Exception {
        String handle = MockUpstreamResource.signIn(
                clientId, redirectUri, subject, sid == null ? Map.of() : Map.of("sid", sid));
        assertFalse(StoredSessions.of(redis, handle).isEmpty());
        return handle;
    }
}
