package dev.tokenbroker.api;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.MatchResult;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chart's alerts and dashboard against a real Prometheus (Debian's {@code prometheus} package, a process on
 * loopback) that scrapes this running broker every second: every alert rule evaluates without error, and every
 * dashboard query parses and finds series. {@code promtool test rules} checks when each alert fires
 * ({@code PrometheusRulesTest}); this test checks that the names and labels the rules and panels use are the ones the
 * broker exports.
 */
@QuarkusTest
// A Redis of its own: outbox entries other tests left there (their upstream stubs refused the revocations) would
// keep TokenBrokerRevocationBacklogStuck pending.
@WithTestResource(value = RedisResource.class, initArgs = @ResourceArg(name = "dedicated", value = "true"))
@WithTestResource(WireMockUpstreamResource.class)
class PrometheusAlertsTest {

    static final Path RULES = Path.of("helm", "token-broker", "files", "prometheus-rules.yaml");
    static final Path DASHBOARD = Path.of("helm", "token-broker", "files", "grafana-dashboard.json");
    static final String PROMETHEUS = System.getProperty("prometheus.binary", "/usr/bin/prometheus");
    static final String JOB = "token-broker";

    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Process prometheus;

    @AfterEach
    void stop() throws InterruptedException {
        if (prometheus != null) {
            prometheus.destroy();
            prometheus.waitFor();
        }
    }

    @Test
    void everyRuleEvaluatesAndEveryDashboardQueryFindsSeries(@TempDir Path tmp) throws Exception {
        String api = start(tmp);
        Await.until("Prometheus scrapes the broker", Duration.ofSeconds(30), () -> targetIsUp(api));

        // Token operations in two rounds, each seen by a scrape: a series' first sample gives no rate, the second does.
        DuendeStubs upstream = DuendeStubs.reset();
        upstream.upstreamIssuesTokens();
        upstream.upstreamRotatesRefreshToken(0);
        upstream.upstreamAcceptsRevocation();
        for (int round = 1; round <= 2; round++) {
            String exchangesSeen = "sum(broker_token_operations_seconds_count{operation=\"exchange\"})";
            double exchanges = instant(api, exchangesSeen);
            String handle = Broker.exchange(
                            Broker.MOBILE, "CODE-prometheus-" + round, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                    .statusCode(200)
                    .extract()
                    .path("refresh_token");
            // The stub's upstream refresh token is one-time: the second session's refresh would be its reuse.
            Broker.refresh(Broker.MOBILE, handle).statusCode(round == 1 ? 200 : 400);
            Broker.revoke(Broker.MOBILE, handle).statusCode(200);
            Await.until(
                    "Prometheus sees exchange " + round,
                    Duration.ofSeconds(30),
                    () -> instant(api, exchangesSeen) > exchanges);
        }

        Instant seen = Instant.now();
        List<String> alerts = new ArrayList<>();
        Await.until("every rule evaluated since", Duration.ofSeconds(30), () -> {
            alerts.clear();
            boolean evaluated = true;
            for (JsonNode group : rules(api)) {
                for (JsonNode rule : group.path("rules")) {
                    assertEquals("ok", rule.path("health").asText(), rule.toString());
                    assertTrue(rule.path("lastError").asText("").isEmpty(), rule.toString());
                    evaluated &=
                            Instant.parse(rule.path("lastEvaluation").asText()).isAfter(seen.plusSeconds(1));
                    alerts.add(rule.path("name").asText());
                }
            }
            return !alerts.isEmpty() && evaluated;
        });
        assertEquals(
                List.of(
                        "TokenBrokerRefreshReuseDetected",
                        "TokenBrokerUpstreamFailing",
                        "TokenBrokerUpstreamRejectingRefreshes",
                        "TokenBrokerRevocationsGivenUp",
                        "TokenBrokerRevocationBacklogStuck",
                        "TokenBrokerRedisErrors",
                        "TokenBrokerRedisReplicationShortfall",
                        "TokenBrokerServerErrors",
                        "TokenBrokerSlowTokenOperations"),
                alerts);
        // Round 2's refresh was rejected upstream (invalid_grant) and ended its session: the one rule that watches
        // for that is pending (it fires after 10 minutes), and no other rule reacts.
        Map<String, String> active = new TreeMap<>();
        for (JsonNode alert : get(api, "/api/v1/alerts").path("data").path("alerts")) {
            active.put(
                    alert.path("labels").path("alertname").asText(),
                    alert.path("state").asText());
        }
        assertEquals(Map.of("TokenBrokerUpstreamRejectingRefreshes", "pending"), active);

        // Every series a rule or panel names exists: a renamed metric would leave an alert that can never fire.
        Map<String, String> empty = new TreeMap<>();
        for (String expr : dashboardQueries()) {
            JsonNode answer = query(api, expr);
            assertEquals("success", answer.path("status").asText(), expr + ": " + answer);
            if (answer.path("data").path("result").isEmpty()) {
                empty.put(expr, "no series");
            }
        }
        for (String metric : metricsInRules()) {
            if (query(api, metric).path("data").path("result").isEmpty()) {
                empty.put(metric, "no series");
            }
        }
        assertEquals(Map.of(), empty, "queries that find nothing on a running broker");

        double p99 = instant(
                api,
                "histogram_quantile(0.99, sum by (le) (rate(broker_token_operations_seconds_bucket"
                        + "{operation=\"exchange\"}[1m])))");
        assertTrue(p99 > 0 && p99 <= 10, "p99 of the exchange from the histogram: " + p99);
    }

    private String start(Path tmp) throws IOException {
        assertTrue(
                new File(PROMETHEUS).canExecute(),
                PROMETHEUS + " is required: apt-get install -y prometheus (.ci/run does it)");
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        URI management = URI.create(Management.url());
        Path config = tmp.resolve("prometheus.yml");
        Files.writeString(config, """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                rule_files:
                  - %s
                scrape_configs:
                  - job_name: %s
                    metrics_path: /q/metrics
                    static_configs:
                      - targets: ['127.0.0.1:%d']
                """.formatted(RULES.toAbsolutePath(), JOB, management.getPort()));
        prometheus = new ProcessBuilder(
                        PROMETHEUS,
                        "--config.file=" + config,
                        "--storage.tsdb.path=" + tmp.resolve("data"),
                        "--web.listen-address=127.0.0.1:" + port)
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve("prometheus.log").toFile())
                .start();
        return "http://127.0.0.1:" + port;
    }

    private boolean targetIsUp(String api) {
        try {
            for (JsonNode target : get(api, "/api/v1/targets").path("data").path("activeTargets")) {
                if ("up".equals(target.path("health").asText())) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return false; // not listening yet
        }
    }

    private JsonNode rules(String api) {
        try {
            return get(api, "/api/v1/rules").path("data").path("groups");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The dashboard's queries, with its variables as Grafana would fill them for this job. */
    private List<String> dashboardQueries() throws IOException {
        List<String> queries = new ArrayList<>();
        for (JsonNode panel : json.readTree(DASHBOARD.toFile()).path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                queries.add(target.path("expr").asText().replace("$job", JOB).replace("$__rate_interval", "1m"));
            }
        }
        assertFalse(queries.isEmpty());
        return queries;
    }

    /** The metric names the rules' expressions query (broker_… and http_server_…). */
    private List<String> metricsInRules() throws IOException {
        StringBuilder exprs = new StringBuilder();
        for (JsonNode group :
                Serialization.yamlMapper().readTree(RULES.toFile()).path("groups")) {
            group.path("rules")
                    .forEach(rule -> exprs.append(rule.path("expr").asText()).append('\n'));
        }
        List<String> metrics = Pattern.compile("\\b(?:broker|http_server)_[a-z_]+")
                .matcher(exprs)
                .results()
                .map(MatchResult::group)
                .distinct()
                .sorted()
                .toList();
        assertTrue(metrics.size() >= 9, metrics.toString());
        return metrics;
    }

    private double instant(String api, String expr) {
        try {
            JsonNode result = query(api, expr).path("data").path("result");
            return result.isEmpty() ? 0 : result.get(0).path("value").get(1).asDouble();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private JsonNode query(String api, String expr) throws IOException {
        return get(api, "/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
    }

    private JsonNode get(String api, String path) throws IOException {
        try {
            HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(URI.create(api + path))
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return json.readTree(response.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
