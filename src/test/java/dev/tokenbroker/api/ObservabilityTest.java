package dev.tokenbroker.api;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Metrics, request ids, the per-operation log line and the OpenAPI document. */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class ObservabilityTest {

    @Test
    void healthAndMetricsAreOnTheManagementPortOnly() {
        Management.onManagementPort().get("/q/health/ready").then().statusCode(200);
        Management.onManagementPort().get("/q/health/live").then().statusCode(200);
        given().get("/q/metrics").then().statusCode(404);
        given().get("/q/health/ready").then().statusCode(404);
        given().get("/q/health/live").then().statusCode(404);
    }

    @Test
    void tokenOperationsAreCountedByClientAndOutcomeWithoutTokenMaterial() {
        DuendeStubs upstream = DuendeStubs.reset();
        upstream.upstreamIssuesTokens();
        String handle = Broker.exchange(Broker.MOBILE, "CODE-metrics", Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        upstream.upstreamRejectsGrant();
        Broker.refresh(Broker.MOBILE, handle).statusCode(400);

        String metrics = Management.metrics();
        assertTrue(
                metrics.matches(
                        "(?s).*broker_token_operations_seconds_count\\{[^}]*client=\"clover\"[^}]*operation=\"exchange\"[^}]*outcome=\"success\"[^}]*} [1-9].*"),
                metrics);
        assertTrue(
                metrics.matches(
                        "(?s).*broker_token_operations_seconds_count\\{[^}]*operation=\"refresh\"[^}]*outcome=\"invalid_grant\"[^}]*} [1-9].*"));
        assertTrue(
                metrics.matches(
                        "(?s).*broker_upstream_requests_seconds_count\\{[^}]*endpoint=\"token\"[^}]*outcome=\"4xx\"[^}]*} [1-9].*"));
        assertTrue(metrics.contains("broker_refresh_coalesced_total"));
        assertTrue(metrics.contains("broker_redis_errors_total"));
        for (String secret :
                new String[] {handle, DuendeStubs.ACCESS_TOKEN, DuendeStubs.REFRESH_TOKEN, "CODE-metrics"}) {
            assertTrue(!metrics.contains(secret), "metrics carry token material");
        }
    }

    @Test
    void timersExportHistogramBucketsForPercentilesInPrometheus() {
        DuendeStubs upstream = DuendeStubs.reset();
        upstream.upstreamIssuesTokens();
        Broker.exchange(Broker.MOBILE, "CODE-buckets", Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200);

        String metrics = Management.metrics();
        for (String timer : new String[] {
            "broker_token_operations_seconds_bucket\\{[^}]*operation=\"exchange\"",
            "broker_upstream_requests_seconds_bucket\\{[^}]*endpoint=\"token\"",
            "broker_redis_operations_seconds_bucket\\{[^}]*operation=\"create_session\""
        }) {
            for (String le : new String[] {"0.001", "0.01", "1.0", "\\+Inf"}) {
                assertTrue(
                        metrics.matches("(?s).*" + timer + "[^}]*le=\"" + le + "\"[^}]*} [0-9].*"),
                        timer + " le=" + le);
            }
        }
        assertTrue(
                metrics.matches("(?s).*broker_redis_operations_seconds_bucket\\{[^}]*le=\"2.5E-4\".*"),
                "Redis buckets start at 0.25 ms");
    }

    private double metric(String line) {
        String metrics = Management.metrics();
        return metrics.lines()
                .filter(l -> l.startsWith(line + " "))
                .mapToDouble(l -> Double.parseDouble(l.substring(line.length() + 1)))
                .findFirst()
                .orElse(0);
    }

    @Test
    void refreshesServedFromTheReuseWindowAreCounted() {
        DuendeStubs upstream = DuendeStubs.reset();
        upstream.upstreamIssuesTokens();
        upstream.upstreamRotatesRefreshToken(0);
        String handle = Broker.exchange(Broker.MOBILE, "CODE-reuse", Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        double before = metric("broker_refresh_reused_total");
        Broker.refresh(Broker.MOBILE, handle).statusCode(200);
        Broker.refresh(Broker.MOBILE, handle).statusCode(200);
        assertTrue(metric("broker_refresh_reused_total") >= before + 1, "the second refresh reused the first");
    }

    @Test
    void everyResponseCarriesARequestIdThatAppearsInTheOperationLogLine() throws Exception {
        given().header("X-Request-Id", "req-4711")
                .contentType("application/x-www-form-urlencoded")
                .formParam("grant_type", "refresh_token")
                .formParam("client_id", Broker.MOBILE)
                .formParam("refresh_token", "nope")
                .post("/oauth2/token")
                .then()
                .statusCode(400)
                .header("X-Request-Id", equalTo("req-4711"));
        given().header("X-Request-Id", "bad id with spaces")
                .contentType("application/x-www-form-urlencoded")
                .formParam("grant_type", "refresh_token")
                .post("/oauth2/token")
                .then()
                .header("X-Request-Id", matchesPattern("[0-9a-f-]{36}"));

        String log = Files.readString(Path.of("target", "broker-test.log"));
        assertTrue(
                log.matches("(?s).*req-4711 operation=refresh client=clover outcome=invalid_grant latency_ms=\\d+.*"),
                "one line per token operation with request id, operation, client, outcome and latency");
    }

    @Test
    void openApiDescribesBothEndpointsOnTheManagementPort() {
        given().get("/q/openapi").then().statusCode(404);
        Management.onManagementPort()
                .get("/q/openapi")
                .then()
                .statusCode(200)
                .body(containsString("/oauth2/token"))
                .body(containsString("/oauth2/revoke"))
                .body(containsString("grant_type"))
                .body(containsString("code_verifier"))
                .body(containsString("invalid_grant"))
                .body(not(containsString("client_secret:")));
    }
}
