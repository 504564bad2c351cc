package dev.tokenbroker.token;

import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;

import dev.tokenbroker.devmode.RedisServer;
import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.BrokerProcess;
import dev.tokenbroker.support.ConcurrentCalls;
import dev.tokenbroker.support.DuendeStubs;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two packaged brokers (prod profile, configured by environment variables only) share one Redis, as replicas
 * do on Kubernetes. Also checks that bad production configuration stops the broker with a message naming the
 * property.
 */
class MultiReplicaIT {

    static RedisServer redis;
    static WireMockServer wm;
    static DuendeStubs upstream;

    @BeforeAll
    static void startInfrastructure() {
        redis = RedisServer.start();
        wm = new WireMockServer(WireMockConfiguration.options()
                .bindAddress("127.0.0.1")
                .dynamicPort()
                .containerThreads(80));
        wm.start();
        upstream = new DuendeStubs(wm);
    }

    @AfterAll
    static void stopInfrastructure() {
        wm.stop();
        redis.close();
    }

    static Map<String, String> productionEnv() {
        Map<String, String> env = BrokerProcess.appEnv(
                redis.uri(), wm.baseUrl() + "/connect/token", wm.baseUrl() + "/connect/revocation");
        env.put("BROKER_SESSION_ROTATION_GRACE", "1s");
        return env;
    }

    @Test
    void fiftyRefreshesSpreadOverTwoReplicasMakeOneUpstreamCallAndRotateTheHandleOnce() throws Exception {
        try (BrokerProcess a = BrokerProcess.launch(productionEnv());
                BrokerProcess b = BrokerProcess.launch(productionEnv())) {
            a.awaitReady();
            b.awaitReady();
            wm.resetAll();
            upstream.upstreamIssuesTokens();
            String handle = given().baseUri(a.baseUrl())
                    .contentType(ContentType.URLENC)
                    .formParams(Broker.params(
                            "grant_type",
                            "authorization_code",
                            "client_id",
                            "clover",
                            "code",
                            "CODE-replicas",
                            "redirect_uri",
                            "clover://auth-callback",
                            "code_verifier",
                            Broker.VERIFIER))
                    .post("/oauth2/token")
                    .then()
                    .statusCode(200)
                    .extract()
                    .path("refresh_token");
            assertTrue(
                    upstream.exchanges()
                            .get(0)
                            .getHeader("Authorization")
                            .equals("Basic "
                                    + Base64.getEncoder()
                                            .encodeToString("clover:env-secret"
                                                    .getBytes(java.nio.charset.StandardCharsets.UTF_8))),
                    "client configured from environment variables");
            upstream.upstreamRotatesRefreshToken(700);

            List<ConcurrentCalls.Answer> answers =
                    ConcurrentCalls.refreshAtOnce(50, List.of(a.baseUrl(), b.baseUrl()), "clover", handle);

            assertEquals(
                    Set.of(200),
                    answers.stream().map(ConcurrentCalls.Answer::status).collect(Collectors.toSet()),
                    answers.toString());
            assertEquals(
                    Set.of(DuendeStubs.REFRESHED_ACCESS_TOKEN),
                    answers.stream()
                            .map(x -> JsonPath.from(x.body()).getString("access_token"))
                            .collect(Collectors.toSet()));
            assertEquals(1, upstream.refreshes().size(), "exactly one upstream refresh across both replicas");
            Set<String> newHandles = answers.stream()
                    .map(x -> JsonPath.from(x.body()).getString("refresh_token"))
                    .collect(Collectors.toSet());
            assertEquals(1, newHandles.size(), "every caller on both replicas got the same new handle");
            String next = newHandles.iterator().next();
            assertNotEquals(handle, next);
            given().baseUri(a.baseUrl()).get("/dev/").then().statusCode(404); // the dev login page is dev-only

            // The rotated refresh token, stored by whichever replica refreshed, is what the next refresh sends.
            String third = given().baseUri(b.baseUrl())
                    .contentType(ContentType.URLENC)
                    .formParams(Broker.params(
                            "grant_type",
                            "refresh_token",
                            "client_id",
                            "clover",
                            "refresh_token",
                            next,
                            "scope",
                            "openid"))
                    .post("/oauth2/token")
                    .then()
                    .statusCode(200)
                    .extract()
                    .path("refresh_token");
            assertTrue(upstream.refreshes()
                    .get(1)
                    .getBodyAsString()
                    .contains("refresh_token=" + DuendeStubs.ROTATED_REFRESH_TOKEN));

            // The first handle, two rotations old, is theft wherever it shows up: the session ends everywhere
            // and its upstream refresh token is revoked.
            upstream.upstreamAcceptsRevocation();
            given().baseUri(a.baseUrl())
                    .contentType(ContentType.URLENC)
                    .formParams(Broker.params(
                            "grant_type", "refresh_token", "client_id", "clover", "refresh_token", handle))
                    .post("/oauth2/token")
                    .then()
                    .statusCode(400)
                    .body("error", org.hamcrest.Matchers.equalTo("invalid_grant"));
            given().baseUri(b.baseUrl())
                    .contentType(ContentType.URLENC)
                    .formParams(
                            Broker.params("grant_type", "refresh_token", "client_id", "clover", "refresh_token", third))
                    .post("/oauth2/token")
                    .then()
                    .statusCode(400);
            assertEquals(2, upstream.refreshes().size(), "no upstream call for a stolen or ended handle");
            assertEquals(1, upstream.revocations().size());
            assertTrue(
                    upstream.revocations()
                            .get(0)
                            .getBodyAsString()
                            .contains("token=" + DuendeStubs.SECOND_ROTATED_REFRESH_TOKEN),
                    "the session's current one");
        }
    }

    @Test
    void startsWhileDiscoveryFailsAndBecomesReadyWhenItSucceeds() throws Exception {
        wm.resetAll();
        Map<String, String> env = productionEnv();
        env.remove("BROKER_UPSTREAM_TOKEN_ENDPOINT");
        env.remove("BROKER_UPSTREAM_REVOCATION_ENDPOINT");
        env.put("BROKER_UPSTREAM_ISSUER", wm.baseUrl() + "/idp");
        env.put("BROKER_UPSTREAM_DISCOVERY_RETRY_INTERVAL", "200ms");
        try (BrokerProcess broker = BrokerProcess.launch(env)) {
            broker.awaitListening();
            given().baseUri(broker.managementUrl())
                    .get("/q/health/ready")
                    .then()
                    .statusCode(503);
            given().baseUri(broker.baseUrl()).get("/q/health/ready").then().statusCode(404); // not on the public port
            given().baseUri(broker.baseUrl())
                    .contentType(ContentType.URLENC)
                    .formParams(Broker.params(
                            "grant_type",
                            "authorization_code",
                            "client_id",
                            "clover",
                            "code",
                            "CODE-early",
                            "redirect_uri",
                            "clover://auth-callback",
                            "code_verifier",
                            Broker.VERIFIER))
                    .post("/oauth2/token")
                    .then()
                    .statusCode(502)
                    .body("error", org.hamcrest.Matchers.equalTo("temporarily_unavailable"));

            upstream.upstreamPublishesDiscovery("/idp");
            broker.awaitReady();
            upstream.upstreamIssuesTokens();
            given().baseUri(broker.baseUrl())
                    .contentType(ContentType.URLENC)
                    .formParams(Broker.params(
                            "grant_type",
                            "authorization_code",
                            "client_id",
                            "clover",
                            "code",
                            "CODE-late",
                            "redirect_uri",
                            "clover://auth-callback",
                            "code_verifier",
                            Broker.VERIFIER))
                    .post("/oauth2/token")
                    .then()
                    .statusCode(200);
            assertEquals(1, upstream.exchanges().size(), "the discovered token endpoint is used");
        }
    }

    @Test
    void productionRefusesToStartWithoutEncryptionKey() throws Exception {
        Map<String, String> env = productionEnv();
        env.remove("BROKER_SESSION_ENCRYPTION_KEYS_K1");
        env.remove("BROKER_SESSION_ENCRYPTION_KEY_ID");
        try (BrokerProcess broker = BrokerProcess.launch(env)) {
            assertNotEquals(0, broker.awaitExit());
            assertTrue(broker.output().contains("broker.session.encryption-keys is required"), broker.output());
        }
    }

    @Test
    void invalidConfigurationNamesTheProperty() throws Exception {
        Map<String, String> shortKey = productionEnv();
        shortKey.put("BROKER_SESSION_ENCRYPTION_KEYS_K1", Base64.getEncoder().encodeToString(new byte[16]));
        try (BrokerProcess broker = BrokerProcess.launch(shortKey)) {
            assertNotEquals(0, broker.awaitExit());
            assertTrue(
                    broker.output().contains("broker.session.encryption-keys.k1 must decode to 32 bytes"),
                    broker.output());
        }
        Map<String, String> badRedirect = productionEnv();
        badRedirect.put("BROKER_CLIENTS_CLOVER_REDIRECT_URIS", "not a uri");
        try (BrokerProcess broker = BrokerProcess.launch(badRedirect)) {
            assertNotEquals(0, broker.awaitExit());
            assertTrue(broker.output().contains("broker.clients.clover.redirect-uris"), broker.output());
        }
        Map<String, String> noSecret = productionEnv();
        noSecret.remove("BROKER_CLIENTS_CLOVER_CLIENT_SECRET");
        try (BrokerProcess broker = BrokerProcess.launch(noSecret)) {
            assertNotEquals(0, broker.awaitExit());
            assertTrue(broker.output().contains("broker.clients.clover.client-secret"), broker.output());
        }
    }

    @Test
    void configurationProblemsArePlainLinesOnePerProblemWithTheFix() throws Exception {
        Map<String, String> env = productionEnv();
        // The placeholder of .env.example, and a second, unrelated mistake.
        env.put("BROKER_SESSION_ENCRYPTION_KEYS_K1", "replace-with-output-of-openssl-rand-base64-32");
        env.put("BROKER_CLIENTS_CLOVER_REDIRECT_URIS", "clover://auth-callback,not a uri");
        // A plain-http browser origin off loopback could be script-injected on the network.
        env.put("BROKER_CLIENTS_CLOVER_ALLOWED_ORIGINS", "http://app.example.com,http://localhost:3000");
        // A number below its bound (ConfigBounds).
        env.put("BROKER_OUTBOX_BATCH_SIZE", "0");
        // Refresh tokens sent in plain http off loopback (SecureUrls).
        env.put("BROKER_UPSTREAM_REVOCATION_ENDPOINT", "http://login.example.com/connect/revocation");
        try (BrokerProcess broker = BrokerProcess.launch(env)) {
            assertNotEquals(0, broker.awaitExit());
            String output = broker.output();
            List<String> lines = output.lines().toList();
            assertTrue(lines.contains("token-broker cannot start: 5 configuration problems"), output);
            assertTrue(lines.contains("  broker.outbox.batch-size must be at least 1 (is 0)"), output);
            assertTrue(
                    lines.contains(
                            "  broker.upstream.revocation-endpoint: 'http://login.example.com/connect/revocation'"
                                    + " must be an https URL (plain http only on loopback)"),
                    output);
            assertTrue(
                    lines.contains("  broker.clients.clover.allowed-origins: 'http://app.example.com' must be https"
                            + " (plain http only on loopback)"),
                    output);
            assertTrue(
                    lines.contains(
                            "  broker.clients.clover.redirect-uris: 'not a uri' is not an absolute URI without fragment"),
                    output);
            assertTrue(
                    lines.contains(
                            "  broker.session.encryption-keys.k1 is not valid base64: set it to 32 random bytes in "
                                    + "base64, made with `openssl rand -base64 32`"),
                    output);
            assertFalse(output.contains("\tat "), "no stack trace:\n" + output);
            assertFalse(output.contains("Failed to start application"), "no JSON error record:\n" + output);
        }
    }

    @Test
    void clientSecretFromTheEnvironmentIsSentVerbatim() throws Exception {
        String secret = "a$$b${HOME}c${nope}";
        Map<String, String> env = productionEnv();
        env.put("BROKER_CLIENTS_CLOVER_CLIENT_SECRET", secret);
        try (BrokerProcess broker = BrokerProcess.launch(env)) {
            broker.awaitReady();
            wm.resetAll();
            upstream.upstreamIssuesTokens();
            given().baseUri(broker.baseUrl())
                    .contentType(ContentType.URLENC)
                    .formParams(Broker.params(
                            "grant_type",
                            "authorization_code",
                            "client_id",
                            "clover",
                            "code",
                            "CODE-verbatim",
                            "redirect_uri",
                            "clover://auth-callback",
                            "code_verifier",
                            Broker.VERIFIER))
                    .post("/oauth2/token")
                    .then()
                    .statusCode(200);
            assertEquals(
                    "Basic "
                            + Base64.getEncoder()
                                    .encodeToString(("clover:"
                                                    + java.net.URLEncoder.encode(
                                                            secret, java.nio.charset.StandardCharsets.UTF_8))
                                            .getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                    upstream.exchanges().get(0).getHeader("Authorization"));
        }
    }

    @Test
    void rateLimitsAreSharedByReplicasAndIgnoreForwardedForFromAnUntrustedPeer() throws Exception {
        Map<String, String> env = productionEnv();
        env.put("BROKER_RATE_LIMIT_PER_ADDRESS_REQUESTS", "4");
        env.put("BROKER_RATE_LIMIT_PER_ADDRESS_PERIOD", "1h");
        // No trusted proxy: the loopback peer is the source, whatever X-Forwarded-For says.
        try (BrokerProcess a = BrokerProcess.launch(env);
                BrokerProcess b = BrokerProcess.launch(env)) {
            a.awaitReady();
            b.awaitReady();
            List<Integer> statuses = new java.util.ArrayList<>();
            for (int i = 0; i < 6; i++) {
                statuses.add(given().baseUri((i % 2 == 0 ? a : b).baseUrl())
                        .contentType(ContentType.URLENC)
                        .header("X-Forwarded-For", "198.51.100." + i)
                        .formParams(Broker.params("client_id", "clover", "token", "unknown-" + i))
                        .post("/oauth2/revoke")
                        .then()
                        .extract()
                        .statusCode());
            }
            assertEquals(List.of(200, 200, 200, 200, 429, 429), statuses, "4 per address, counted by both replicas");
            String retryAfter = given().baseUri(a.baseUrl())
                    .contentType(ContentType.URLENC)
                    .formParams(Broker.params("client_id", "clover", "token", "unknown"))
                    .post("/oauth2/revoke")
                    .then()
                    .statusCode(429)
                    .body("error", org.hamcrest.Matchers.equalTo("temporarily_unavailable"))
                    .extract()
                    .header("Retry-After");
            // One request per 15 minutes refills a bucket of 4 per hour; the fifth waits for it.
            int seconds = Integer.parseInt(retryAfter);
            assertTrue(seconds > 800 && seconds <= 900, retryAfter);
        }

        Map<String, String> badProxy = productionEnv();
        badProxy.put("BROKER_RATE_LIMIT_TRUSTED_PROXIES", "10.0.0.0/8,ingress.local");
        try (BrokerProcess broker = BrokerProcess.launch(badProxy)) {
            assertNotEquals(0, broker.awaitExit());
            assertTrue(
                    broker.output()
                            .lines()
                            .anyMatch(line -> line.contains(
                                    "broker.rate-limit.trusted-proxies: 'ingress.local' is not an IP address")),
                    broker.output());
        }
    }

    private static String exchangeAt(BrokerProcess broker, String code) {
        return given().baseUri(broker.baseUrl())
                .contentType(ContentType.URLENC)
                .formParams(Broker.params(
                        "grant_type",
                        "authorization_code",
                        "client_id",
                        "clover",
                        "code",
                        code,
                        "redirect_uri",
                        "clover://auth-callback",
                        "code_verifier",
                        Broker.VERIFIER))
                .post("/oauth2/token")
                .then()
                .statusCode(200)
                .extract()
                .path("refresh_token");
    }

    /** A refresh over a fresh connection: the status and body, or -1 when no HTTP answer came (refused, reset). */
    private static ConcurrentCalls.Answer refreshAt(String baseUrl, String handle) {
        try {
            java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient()
                    .send(
                            java.net.http.HttpRequest.newBuilder(java.net.URI.create(baseUrl + "/oauth2/token"))
                                    .timeout(java.time.Duration.ofSeconds(60))
                                    .header("Content-Type", "application/x-www-form-urlencoded")
                                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                                            "grant_type=refresh_token&client_id=clover&refresh_token=" + handle))
                                    .build(),
                            java.net.http.HttpResponse.BodyHandlers.ofString());
            return new ConcurrentCalls.Answer(r.statusCode(), r.body());
        } catch (java.io.IOException e) {
            return new ConcurrentCalls.Answer(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new ConcurrentCalls.Answer(-1, e.toString());
        }
    }

    private static int status(String url) {
        try {
            return java.net.http.HttpClient.newHttpClient()
                    .send(
                            java.net.http.HttpRequest.newBuilder(java.net.URI.create(url))
                                    .timeout(java.time.Duration.ofSeconds(2))
                                    .build(),
                            java.net.http.HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (java.io.IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    @Test
    void sigtermDuringASlowRefreshTurnsReadinessDownThenFinishesAndCommitsItAndRefusesNewRequests() throws Exception {
        Map<String, String> env = productionEnv();
        env.put("QUARKUS_SHUTDOWN_DELAY", "2s");
        env.put("BROKER_SESSION_REFRESH_REUSE_WINDOW", "0s");
        String next;
        try (BrokerProcess a = BrokerProcess.launch(env)) {
            a.awaitReady();
            wm.resetAll();
            upstream.upstreamIssuesTokens();
            String handle = exchangeAt(a, "CODE-sigterm");
            upstream.upstreamRotatesRefreshToken(5000);
            java.util.concurrent.CompletableFuture<ConcurrentCalls.Answer> inFlight =
                    java.util.concurrent.CompletableFuture.supplyAsync(() -> refreshAt(a.baseUrl(), handle));
            Await.until(
                    "the refresh reached the upstream",
                    Duration.ofSeconds(10),
                    () -> upstream.refreshes().size() == 1);

            a.terminate();
            // Readiness turns DOWN at once, while the broker still serves (the delay lets the Service drop the pod).
            Await.until("readiness is DOWN", Duration.ofMillis(1500), () -> status(a.healthUrl("ready")) == 503);
            assertEquals(200, status(a.healthUrl("live")), "still serving during the shutdown delay");
            // After the delay, new requests are refused while the in-flight refresh still waits for the upstream.
            Thread.sleep(2500);
            assertFalse(inFlight.isDone(), "the upstream answers 5 s after the refresh started");
            ConcurrentCalls.Answer late = refreshAt(a.baseUrl(), handle);
            assertNotEquals(200, late.status(), late.toString());
            assertTrue(late.status() == 503 || late.status() == -1, late.toString());

            ConcurrentCalls.Answer answer = inFlight.get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(200, answer.status(), answer.toString());
            next = JsonPath.from(answer.body()).getString("refresh_token");
            assertNotEquals(handle, next);
            a.awaitExit();
            assertEquals(1, upstream.refreshes().size(), "the refused request never reached the upstream");
        }
        // The refresh was committed before the process exited: another replica continues the session with the
        // rotated upstream refresh token.
        try (BrokerProcess b = BrokerProcess.launch(env)) {
            b.awaitReady();
            ConcurrentCalls.Answer answer = refreshAt(b.baseUrl(), next);
            assertEquals(200, answer.status(), answer.toString());
            assertEquals(2, upstream.refreshes().size());
            assertTrue(upstream.refreshes()
                    .get(1)
                    .getBodyAsString()
                    .contains("refresh_token=" + DuendeStubs.ROTATED_REFRESH_TOKEN));
        }
    }

    @Test
    void killDuringARefreshOfAReusedTokenLeavesTheLockToExpireThenTheOtherReplicaRefreshesWithoutOverlapping()
            throws Exception {
        Map<String, String> env = productionEnv();
        // Upstream calls end within 3 s; the refresh lock lives 15 s longer: 18 s.
        env.put("BROKER_UPSTREAM_CONNECT_TIMEOUT", "1s");
        env.put("BROKER_UPSTREAM_READ_TIMEOUT", "2s");
        env.put("BROKER_SESSION_REFRESH_REUSE_WINDOW", "0s");
        try (BrokerProcess a = BrokerProcess.launch(env);
                BrokerProcess b = BrokerProcess.launch(env)) {
            a.awaitReady();
            b.awaitReady();
            wm.resetAll();
            upstream.upstreamIssuesTokens();
            String first = exchangeAt(a, "CODE-kill");
            // This session's upstream reuses refresh tokens, so one in doubt may be presented again (with one-time
            // tokens the session ends instead: ReplicaFaultsIT).
            upstream.upstreamRefreshesWithoutRotation(0);
            String handle = new JsonPath(refreshAt(a.baseUrl(), first).body()).getString("refresh_token");
            wm.resetRequests();
            upstream.upstreamRefreshesWithoutRotation(1500);
            // Its answer never comes: the replica is killed while the upstream works.
            var unused = java.util.concurrent.CompletableFuture.runAsync(() -> refreshAt(a.baseUrl(), handle));
            Await.until(
                    "the refresh reached the upstream",
                    Duration.ofSeconds(10),
                    () -> upstream.refreshes().size() == 1);

            a.kill();
            ConcurrentCalls.Answer answer = refreshAt(b.baseUrl(), handle);

            assertEquals(200, answer.status(), answer.toString());
            List<com.github.tomakehurst.wiremock.verification.LoggedRequest> calls = upstream.refreshes();
            assertEquals(2, calls.size(), "one call by the killed replica, one by the other after the lock expired");
            long gap = loggedAt(calls.get(1)) - loggedAt(calls.get(0));
            assertTrue(gap >= 17_000, "the second call waited for the lock (18 s) to expire: " + gap + " ms");
        }
    }

    /** WireMock records a request's time as a java.util.Date: epoch millis. */
    @SuppressWarnings("JavaUtilDate")
    private static long loggedAt(com.github.tomakehurst.wiremock.verification.LoggedRequest request) {
        return request.getLoggedDate().getTime();
    }
}
