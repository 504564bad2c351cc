package dev.tokenbroker.upstream;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.consumer.JwtConsumer;
import org.jose4j.jwt.consumer.JwtConsumerBuilder;
import org.jose4j.keys.resolvers.JwksVerificationKeyResolver;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import okhttp3.mockwebserver.RecordedRequest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A {@code private_key_jwt} client ({@code clover-signed}, test profile) through the whole flow: every token and
 * revocation call carries a fresh assertion that verifies against the keys the broker publishes at
 * {@code /oauth2/jwks}, as an upstream that fetches them by {@code jwks_uri} checks it.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
class PrivateKeyJwtFlowTest {

    private static final String CLIENT = "clover-signed";
    private static final String REDIRECT = "clover-signed://cb";

    @BeforeEach
    void drain() {
        MockUpstreamResource.drainRecordedRequests();
    }

    @Test
    void theBrokerPublishesBothKeysOfARotationWithOnlyTheirPublicMembers() {
        List<Map<String, Object>> keys = given().queryParam("client_id", CLIENT)
                .get("/oauth2/jwks")
                .then()
                .statusCode(200)
                .header("Cache-Control", "public, max-age=300")
                .contentType("application/json")
                .extract()
                .jsonPath()
                .getList("keys");
        assertEquals(2, keys.size());
        // In the order of private-keys: the key that signs first.
        assertEquals(
                Set.of("kty", "crv", "x", "y", "kid", "alg", "use"), keys.get(0).keySet());
        assertEquals("ES256", keys.get(0).get("alg"));
        assertEquals(Set.of("kty", "n", "e", "kid", "alg", "use"), keys.get(1).keySet());
        assertEquals("RS256", keys.get(1).get("alg"));
    }

    @Test
    void onlyAPrivateKeyJwtClientHasKeys() {
        for (String other : List.of(Broker.MOBILE, "nobody")) {
            given().queryParam("client_id", other)
                    .get("/oauth2/jwks")
                    .then()
                    .statusCode(404)
                    .body("error", equalTo("invalid_client"));
        }
        given().get("/oauth2/jwks").then().statusCode(404);
    }

    @Test
    void everyUpstreamCallCarriesAFreshAssertionThatVerifiesWithThePublishedKeys() throws Exception {
        JwtConsumer upstream = new JwtConsumerBuilder()
                .setVerificationKeyResolver(
                        new JwksVerificationKeyResolver(new JsonWebKeySet(given().queryParam("client_id", CLIENT)
                                        .get("/oauth2/jwks")
                                        .asString())
                                .getJsonWebKeys()))
                .setExpectedIssuer(CLIENT)
                .setExpectedSubject(CLIENT)
                .setExpectedAudience(tokenEndpoint())
                .setRequireJwtId()
                .setRequireExpirationTime()
                .setRequireIssuedAt()
                .build();

        String code = MockUpstreamResource.authorize(CLIENT, REDIRECT, Broker.VERIFIER);
        String handle = Broker.exchange(CLIENT, code, REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        String rotated =
                Broker.refresh(CLIENT, handle).statusCode(200).extract().path("refresh_token");
        Broker.revoke(CLIENT, rotated).statusCode(200);

        Set<String> jtis = new HashSet<>();
        for (String path : List.of("/token", "/token", "/revoke")) {
            RecordedRequest call = next(path);
            assertNull(call.getHeader("Authorization"), "no client secret, no Basic header");
            Map<String, String> form = Broker.formOf(call.getBody().readUtf8());
            assertEquals(CLIENT, form.get("client_id"));
            assertEquals("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form.get("client_assertion_type"));
            assertFalse(form.containsKey("client_secret"));
            JwtClaims claims = upstream.processToClaims(form.get("client_assertion"));
            assertEquals(
                    60,
                    claims.getExpirationTime().getValue() - claims.getIssuedAt().getValue());
            assertTrue(jtis.add(claims.getJwtId()), "a jti is never sent twice");
        }
    }

    /** The token endpoint the broker discovered: the audience of every assertion, also on revocation calls. */
    private static String tokenEndpoint() {
        return given().get(MockUpstreamResource.server().issuerUrl("connect") + "/.well-known/openid-configuration")
                .then()
                .statusCode(200)
                .extract()
                .path("token_endpoint");
    }

    private static RecordedRequest next(String pathEnd) {
        RecordedRequest request;
        do {
            request = MockUpstreamResource.poll(5000);
            assertNotNull(request, "the broker made no upstream call to " + pathEnd);
        } while (!request.getPath().endsWith(pathEnd));
        return request;
    }
}
