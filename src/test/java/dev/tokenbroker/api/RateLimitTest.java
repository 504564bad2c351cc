package dev.tokenbroker.api;

import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * Rate limits on a real Redis: each source address (behind a trusted proxy: here the test's own loopback peer) may
 * make 4 requests per client per minute, the web client 3 in all. Each test uses addresses of its own, so that
 * buckets do not carry over between tests.
 */
@QuarkusTest
@TestProfile(RateLimitTest.Limited.class)
@WithTestResource(RedisResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class RateLimitTest {

    public static class Limited implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "broker.rate-limit.trusted-proxies", "127.0.0.1/32,::1",
                    "broker.rate-limit.per-address.requests", "4",
                    "broker.rate-limit.per-address.period", "1m",
                    "broker.clients.web.rate-limit.requests", "3",
                    "broker.clients.web.rate-limit.period", "1m",
                    "broker.clients.dollar.rate-limit.requests", "1000000000");
        }
    }

    @Inject
    MeterRegistry registry;

    DuendeStubs upstream;

    @BeforeEach
    void resetUpstream() {
        upstream = DuendeStubs.reset();
    }

    private static ValidatableResponse revokeFrom(String forwardedFor, String clientId) {
        return given().contentType(ContentType.URLENC)
                .header("X-Forwarded-For", forwardedFor)
                .formParams(Broker.params("client_id", clientId, "token", "unknown-handle"))
                .post("/oauth2/revoke")
                .then();
    }

    private static ValidatableResponse tokenFrom(String forwardedFor, Map<String, String> form) {
        return given().contentType(ContentType.URLENC)
                .header("X-Forwarded-For", forwardedFor)
                .formParams(form)
                .post("/oauth2/token")
                .then();
    }

    private static Map<String, String> exchange(String code) {
        return Broker.params(
                "grant_type", "authorization_code",
                "client_id", Broker.MOBILE,
                "code", code,
                "redirect_uri", Broker.MOBILE_REDIRECT,
                "code_verifier", Broker.VERIFIER);
    }

    private static Map<String, String> refresh(String handle) {
        return Broker.params("grant_type", "refresh_token", "client_id", Broker.MOBILE, "refresh_token", handle);
    }

    private double refused(String client, String kind) {
        var counter = registry.find("broker.rate.limited")
                .tag("client", client)
                .tag("kind", kind)
                .counter();
        return counter == null ? 0 : counter.count();
    }

    @Test
    void startingAuthorizationRequestsIsLimitedLikeTheTokenEndpoint() {
        // Each start stores a transaction and lets one exchange call the upstream (pkce=broker; /bff/login alike).
        for (int i = 1; i <= 5; i++) {
            int status = given().contentType(ContentType.URLENC)
                    .header("X-Forwarded-For", "198.51.100.77")
                    .formParams(Map.of(
                            "client_id", "clover-broker-pkce",
                            "redirect_uri", "clover-bp://cb",
                            "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
                    .post("/oauth2/authorization-request")
                    .then()
                    .extract()
                    .statusCode();
            if (i <= 4) {
                assertNotEquals(429, status, "request " + i + " is within the 4 per address");
            } else {
                assertEquals(429, status, "request 5 is over the limit");
            }
        }
    }

    @Test
    void anAddressOverItsLimitGets429WithRetryAfterAndTheOAuthErrorBodyOnBothEndpoints() {
        double before = refused("clover", "address");
        for (int i = 0; i < 4; i++) {
            revokeFrom("198.51.100.7", Broker.MOBILE).statusCode(200);
        }
        revokeFrom("198.51.100.7", Broker.MOBILE)
                .statusCode(429)
                .header("Retry-After", Integer::parseInt, allOf(greaterThanOrEqualTo(1), lessThanOrEqualTo(15)))
                .header("Cache-Control", "no-store")
                .contentType(ContentType.JSON)
                .body("error", equalTo("temporarily_unavailable"))
                .body("error_description", equalTo("Too many requests, retry later"));
        tokenFrom("198.51.100.7", refresh("unknown-handle")).statusCode(429);
        assertEquals(before + 2, refused("clover", "address"));

        revokeFrom("198.51.100.8", Broker.MOBILE).statusCode(200);
        upstream.upstreamIssuesTokens();
        tokenFrom("198.51.100.8", exchange("CODE-other-address")).statusCode(200);
    }

    @Test
    void aClientWrittenForwardedForEntryDoesNotEscapeTheLimitOfTheAddressTheProxySaw() {
        for (int i = 0; i < 4; i++) {
            revokeFrom("10.66.0." + i + ", 198.51.100.9", Broker.MOBILE).statusCode(200);
        }
        revokeFrom("10.66.0.99, 198.51.100.9", Broker.MOBILE).statusCode(429);
        revokeFrom("garbage, 198.51.100.9", Broker.MOBILE).statusCode(429);
    }

    @Test
    void aClientLimitCountsAllAddressesTogether() {
        double before = refused("web", "client");
        for (int i = 1; i <= 3; i++) {
            revokeFrom("198.51.100." + (20 + i), Broker.WEB).statusCode(200);
        }
        revokeFrom("198.51.100.24", Broker.WEB).statusCode(429).header("Retry-After", not(equalTo(null)));
        assertEquals(before + 1, refused("web", "client"));
        // Other clients have buckets of their own.
        revokeFrom("198.51.100.24", Broker.MOBILE).statusCode(200);
    }

    @Test
    void aRateTooHighForTheClockToResolveStillAdmits() {
        revokeFrom("198.51.100.40", "clover-dollar").statusCode(200);
        revokeFrom("198.51.100.40", "clover-dollar").statusCode(200);
    }

    @Test
    void aFailedCodeExchangeCostsTenRequestsSoReplayedCodesReachTheUpstreamOnce() {
        upstream.upstreamRejectsGrant();
        tokenFrom("198.51.100.30", exchange("CODE-replayed")).statusCode(400).body("error", equalTo("invalid_grant"));
        tokenFrom("198.51.100.30", exchange("CODE-replayed")).statusCode(429);
        tokenFrom("198.51.100.30", exchange("CODE-replayed")).statusCode(429);
        assertEquals(1, upstream.exchanges().size(), "the upstream saw the replayed code once");
    }

    @Test
    void failedRefreshesCostOneRequestEach() {
        for (int i = 0; i < 4; i++) {
            tokenFrom("198.51.100.31", refresh("unknown-handle"))
                    .statusCode(400)
                    .body("error", equalTo("invalid_grant"));
        }
        tokenFrom("198.51.100.31", refresh("unknown-handle")).statusCode(429);
    }
}
