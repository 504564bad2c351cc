package dev.tokenbroker.session;

import java.net.URI;
import java.net.URL;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.ValidatableResponse;
import io.restassured.specification.RequestSpecification;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Redis stops in the middle of the test: the broker fails closed, reports not ready, and recovers. */
@QuarkusTest
@WithTestResource(value = RedisResource.class, initArgs = @ResourceArg(name = "dedicated", value = "true"))
@WithTestResource(WireMockUpstreamResource.class)
class RedisOutageTest {

    /** Health is on the management interface (its URL ends in its root path, /q/). */
    @TestHTTPResource(value = "/", management = true)
    URL management;

    private RequestSpecification health() {
        return given().baseUri(URI.create(management.toString()).resolve("/").toString());
    }

    private static void assertStoreUnavailable(ValidatableResponse response) {
        response.statusCode(503)
                .header("Retry-After", "5")
                .header("Cache-Control", "no-store")
                .body("error", equalTo("temporarily_unavailable"));
    }

    @Test
    void redisDownFailsClosedAndRecoversWithSessionIntact() {
        DuendeStubs upstream = DuendeStubs.reset();
        upstream.upstreamIssuesTokens();
        upstream.upstreamAcceptsRevocation();
        String handle = Broker.exchange(Broker.MOBILE, "CODE-outage", Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        health().get("/q/health/ready").then().statusCode(200);

        RedisResource.current().stop();
        try {
            assertStoreUnavailable(Broker.refresh(Broker.MOBILE, handle));
            // The upstream exchange succeeds but the session cannot be stored: no token is handed out,
            // and the orphaned upstream refresh token is revoked.
            assertStoreUnavailable(
                    Broker.exchange(Broker.MOBILE, "CODE-outage-2", Broker.MOBILE_REDIRECT, Broker.VERIFIER));
            assertEquals(1, upstream.revocations().size());
            assertTrue(upstream.revocations().get(0).getBodyAsString().contains("token=" + DuendeStubs.REFRESH_TOKEN));
            assertStoreUnavailable(Broker.revoke(Broker.MOBILE, handle));
            health().get("/q/health/ready").then().statusCode(503).body("checks.status", hasItem("DOWN"));
            health().get("/q/health/live").then().statusCode(200);
        } finally {
            RedisResource.current().resume();
        }

        health().get("/q/health/ready").then().statusCode(200);
        upstream.upstreamRotatesRefreshToken(0);
        Broker.refresh(Broker.MOBILE, handle)
                .statusCode(200)
                .body("access_token", equalTo(DuendeStubs.REFRESHED_ACCESS_TOKEN));
        assertEquals(1, upstream.refreshes().size(), "the session survived the outage");
    }
}
