package dev.tokenbroker.api;

import java.time.Instant;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.DpopKey;
import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StoredSessions;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RFC 9449 binding of broker handles, over real HTTP with real proofs. */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class DpopBindingTest {

    static final String BOUND = "clover-bound";
    static final String REDIRECT = "clover-bound://cb";

    @Inject
    RedisDataSource redis;

    DuendeStubs upstream;
    DpopKey key;

    @BeforeEach
    void reset() {
        upstream = DuendeStubs.reset();
        key = DpopKey.generate();
    }

    private static ValidatableResponse token(String proof, String... params) {
        var request = given().contentType(ContentType.URLENC).formParams(Broker.params(params));
        if (proof != null) {
            request.header("DPoP", proof);
        }
        return request.post("/oauth2/token").then();
    }

    private ValidatableResponse exchange(String proof) {
        return token(
                proof,
                "grant_type",
                "authorization_code",
                "client_id",
                BOUND,
                "code",
                "CODE-dpop",
                "redirect_uri",
                REDIRECT,
                "code_verifier",
                Broker.VERIFIER);
    }

    private static ValidatableResponse refresh(String proof, String handle) {
        return token(proof, "grant_type", "refresh_token", "client_id", BOUND, "refresh_token", handle);
    }

    private static void assertError(ValidatableResponse response, String error) {
        response.statusCode(400).header("Cache-Control", "no-store").body("error", equalTo(error));
    }

    private String boundSession() {
        upstream.upstreamIssuesTokens();
        String handle = exchange(key.proof("POST", DpopKey.TOKEN_URL))
                .statusCode(200)
                .extract()
                .path("refresh_token");
        assertEquals(key.thumbprint(), StoredSessions.of(redis, handle).get("jkt"), "bound to the proof's key");
        upstream.upstreamRotatesRefreshToken(0);
        return handle;
    }

    @Test
    void aRequiredClientRefusesAnExchangeWithoutProofBeforeCallingTheUpstream() {
        upstream.upstreamIssuesTokens();
        assertError(exchange(null), "invalid_dpop_proof");
        assertEquals(0, upstream.exchanges().size(), "the code is not burnt");
    }

    @Test
    void aBoundSessionRefreshesOnlyWithProofsOfItsKey() {
        String handle = boundSession();
        assertError(refresh(null, handle), "invalid_grant");
        assertError(refresh(DpopKey.generate().proof("POST", DpopKey.TOKEN_URL), handle), "invalid_grant");
        assertEquals(0, upstream.refreshes().size());

        String next = refresh(key.proof("POST", DpopKey.TOKEN_URL), handle)
                .statusCode(200)
                .body("access_token", equalTo(DuendeStubs.REFRESHED_ACCESS_TOKEN))
                .body("token_type", equalTo("Bearer"))
                .extract()
                .path("refresh_token");
        assertEquals(key.thumbprint(), StoredSessions.of(redis, next).get("jkt"), "still bound after rotation");
    }

    @Test
    void everyFaultyProofIsRefusedWithoutAnUpstreamCall() {
        String handle = boundSession();
        String replayed = key.proof("POST", DpopKey.TOKEN_URL);
        refresh(replayed, handle).statusCode(200);
        Map<String, String> faulty = Map.of(
                "replayed jti", replayed,
                "wrong htm", key.proof("GET", DpopKey.TOKEN_URL),
                "wrong htu", key.proof("POST", "http://localhost:8081/oauth2/revoke"),
                "other host", key.proof("POST", "https://evil.example/oauth2/token"),
                "stale iat", key.proof("POST", DpopKey.TOKEN_URL, Instant.now().minusSeconds(600)),
                "future iat", key.proof("POST", DpopKey.TOKEN_URL, Instant.now().plusSeconds(600)),
                "private key in jwk", key.proofLeakingPrivateKey("POST", DpopKey.TOKEN_URL),
                "alg none", "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6Im5vbmUifQ.eyJqdGkiOiJ4In0.",
                "not a JWT", "garbage");
        faulty.forEach((what, proof) -> {
            ValidatableResponse response = refresh(proof, handle);
            assertEquals(400, response.extract().statusCode(), what);
            assertEquals("invalid_dpop_proof", response.extract().path("error"), what);
        });
        assertEquals(1, upstream.refreshes().size(), "only the valid proof reached the upstream");
        given().contentType(ContentType.URLENC)
                .header("DPoP", key.proof("POST", DpopKey.TOKEN_URL))
                .header("DPoP", key.proof("POST", DpopKey.TOKEN_URL))
                .formParams(Broker.params("grant_type", "refresh_token", "client_id", BOUND, "refresh_token", handle))
                .post("/oauth2/token")
                .then()
                .statusCode(400)
                .body("error", equalTo("invalid_dpop_proof"));
    }

    @Test
    void aBoundSessionIsRevokedOnlyWithAProofOfItsKey() {
        String handle = boundSession();
        upstream.upstreamAcceptsRevocation();
        given().contentType(ContentType.URLENC)
                .formParams(Broker.params("client_id", BOUND, "token", handle))
                .post("/oauth2/revoke")
                .then()
                .statusCode(200);
        assertTrue(!StoredSessions.of(redis, handle).isEmpty(), "a copied handle without the key cannot end it");

        given().contentType(ContentType.URLENC)
                .header("DPoP", key.proof("POST", DpopKey.REVOKE_URL))
                .formParams(Broker.params("client_id", BOUND, "token", handle))
                .post("/oauth2/revoke")
                .then()
                .statusCode(200);
        assertTrue(StoredSessions.of(redis, handle).isEmpty());
        assertEquals(1, upstream.revocations().size());
    }

    @Test
    void aClientWithoutDpopIgnoresTheHeaderAndBindsNothing() {
        upstream.upstreamIssuesTokens();
        String handle = given().contentType(ContentType.URLENC)
                .header("DPoP", key.proof("POST", DpopKey.TOKEN_URL))
                .formParams(Broker.params(
                        "grant_type",
                        "authorization_code",
                        "client_id",
                        Broker.MOBILE,
                        "code",
                        "CODE-plain",
                        "redirect_uri",
                        Broker.MOBILE_REDIRECT,
                        "code_verifier",
                        Broker.VERIFIER))
                .post("/oauth2/token")
                .then()
                .statusCode(200)
                .extract()
                .path("refresh_token");
        assertEquals("", StoredSessions.of(redis, handle).get("jkt"));
        upstream.upstreamRotatesRefreshToken(0);
        Broker.refresh(Broker.MOBILE, handle).statusCode(200);
    }
}
