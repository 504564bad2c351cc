package dev.tokenbroker.web;

import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WebClientResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The requests that store an authorization transaction without any credential ({@code GET /bff/login}, which any web
 * page can make its visitors' browsers send, and {@code POST /oauth2/authorization-request}) are bounded per address
 * and per client, a {@code return_to} is bounded in length, and a login must be a top-level navigation. Small limits here (3 per address, 5 per client); the
 * shipped defaults are 30 and 600 per minute.
 */
@QuarkusTest
@TestProfile(AuthorizationRequestBoundsTest.SmallBounds.class)
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
@WithTestResource(WebClientResource.class)
class AuthorizationRequestBoundsTest {

    public static class SmallBounds implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "broker.rate-limit.trusted-proxies", "127.0.0.1/32,::1",
                    "broker.web.authorization-requests.per-address", "3",
                    "broker.web.authorization-requests.per-client", "5");
        }
    }

    @Test
    void brokerHeldPkceStartsAreBoundedPerAddressAndPerClient() {
        for (int i = 0; i < 3; i++) {
            start("192.0.2.1").statusCode(200);
        }
        refused(start("192.0.2.1"));
        start("192.0.2.2").statusCode(200);
        start("192.0.2.2").statusCode(200);
        refused(start("192.0.2.3"));
        String metrics = Management.metrics();
        assertTrue(
                metrics.contains("broker_rate_limited_total{client=\"brokerpkce\",kind=\"login_address\"} 1.0"),
                metrics);
        assertTrue(metrics.contains("broker_rate_limited_total{client=\"brokerpkce\",kind=\"login\"} 1.0"), metrics);
    }

    @Test
    void webLoginsAreBoundedPerAddressAndTheirReturnToInLength() {
        String longReturnTo = WebClientResource.appOrigin() + "/" + "a".repeat(1024);
        login("198.51.100.1", longReturnTo)
                .statusCode(400)
                .body("error", equalTo("invalid_request"))
                .body("error_description", equalTo("return_to is longer than 1024 characters"));
        // Embedded as an image in some page: not a login, and nothing is stored or charged.
        given().redirects()
                .follow(false)
                .header("X-Forwarded-For", "198.51.100.1")
                .header("Sec-Fetch-Dest", "image")
                .get("/bff/login")
                .then()
                .statusCode(400)
                .body("error_description", equalTo("a login starts with a top-level navigation"));
        for (int i = 0; i < 3; i++) {
            given().redirects()
                    .follow(false)
                    .header("X-Forwarded-For", "198.51.100.1")
                    .header("Sec-Fetch-Dest", "document")
                    .queryParam("return_to", WebClientResource.appOrigin() + "/")
                    .get("/bff/login")
                    .then()
                    .statusCode(302);
        }
        refused(login("198.51.100.1", WebClientResource.appOrigin() + "/"));
    }

    private static void refused(ValidatableResponse response) {
        response.statusCode(429)
                .header("Retry-After", notNullValue())
                .body("error", equalTo("temporarily_unavailable"));
    }

    private static ValidatableResponse start(String address) {
        return given().contentType(ContentType.URLENC)
                .header("X-Forwarded-For", address)
                .formParams(Broker.params(
                        "client_id", "clover-broker-pkce",
                        "redirect_uri", "clover-bp://cb",
                        "code_challenge", Handles.s256(Broker.VERIFIER),
                        "code_challenge_method", "S256"))
                .post("/oauth2/authorization-request")
                .then();
    }

    private static ValidatableResponse login(String address, String returnTo) {
        return given().redirects()
                .follow(false)
                .header("X-Forwarded-For", address)
                .queryParam("return_to", returnTo)
                .get("/bff/login")
                .then();
    }
}
