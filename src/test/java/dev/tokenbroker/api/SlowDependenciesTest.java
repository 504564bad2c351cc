package dev.tokenbroker.api;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.SlowRedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Redis behind a proxy that adds latency (the broker's Redis timeout is 1 s here), and an upstream slower than the
 * read timeout (2 s): every request ends with a clear 503 or 504 near the configured timeout, not at the slow part's
 * pace, and the event loop stays free for other requests while dozens wait.
 */
@QuarkusTest
@WithTestResource(SlowRedisResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class SlowDependenciesTest {

    private static final int CONCURRENT = 50;

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    DuendeStubs upstream;

    record Timed(int status, String body, String retryAfter, long millis) {}

    @BeforeEach
    void fastDependencies() {
        upstream = DuendeStubs.reset();
        SlowRedisResource.proxy().latency(0);
    }

    @AfterEach
    void redisFastAgain() {
        SlowRedisResource.proxy().latency(0);
        // Chunks the proxy read while slow are still on their way: the next test starts when Redis answers promptly.
        Await.until("Redis answers promptly again", Duration.ofSeconds(20), () -> {
            try {
                return get(Management.url() + "/q/health/ready").status() == 200;
            } catch (Exception e) {
                return false;
            }
        });
    }

    private String base() {
        return "http://localhost:" + RestAssured.port;
    }

    private CompletableFuture<Timed> refresh(String handle) {
        long start = System.nanoTime();
        return http.sendAsync(
                        HttpRequest.newBuilder(URI.create(base() + "/oauth2/token"))
                                .timeout(Duration.ofSeconds(30))
                                .header("Content-Type", "application/x-www-form-urlencoded")
                                .POST(HttpRequest.BodyPublishers.ofString(
                                        "grant_type=refresh_token&client_id=clover&refresh_token=" + handle))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .thenApply(r -> new Timed(
                        r.statusCode(),
                        r.body(),
                        r.headers().firstValue("Retry-After").orElse(null),
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)));
    }

    private Timed get(String url) throws Exception {
        long start = System.nanoTime();
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(5))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return new Timed(r.statusCode(), r.body(), null, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    }

    /** Sends them all at once and, while they wait, checks that the server still answers what needs neither part. */
    private List<Timed> whileWaiting(List<String> handles) throws Exception {
        List<CompletableFuture<Timed>> pending = new ArrayList<>();
        handles.forEach(h -> pending.add(refresh(h)));
        Timed live = get(Management.url() + "/q/health/live");
        assertFalse(pending.stream().allMatch(CompletableFuture::isDone), "the slow requests were still waiting");
        assertEquals(200, live.status(), "liveness answers while " + handles.size() + " requests wait");
        Timed unknownPath = get(base() + "/oauth2/nothing");
        assertEquals(404, unknownPath.status());
        System.out.printf(
                "while %d requests waited: liveness in %d ms, a 404 in %d ms%n",
                handles.size(), live.millis(), unknownPath.millis());
        List<Timed> answers = new ArrayList<>();
        for (CompletableFuture<Timed> f : pending) {
            answers.add(f.get(60, TimeUnit.SECONDS));
        }
        return answers;
    }

    private static long max(List<Timed> answers) {
        return answers.stream().mapToLong(Timed::millis).max().orElseThrow();
    }

    @Test
    void slowRedisGives503WithRetryAfterAtTheRedisTimeoutAndTheBrokerRecovers() throws Exception {
        upstream.upstreamIssuesTokens();
        String handle = Broker.exchange(Broker.MOBILE, "CODE-slow-redis", Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        List<String> handles = new ArrayList<>();
        for (int i = 0; i < CONCURRENT; i++) {
            handles.add(Handles.newHandle().value());
        }

        SlowRedisResource.proxy().latency(3000);
        List<Timed> answers = whileWaiting(handles);

        for (Timed a : answers) {
            assertEquals(503, a.status(), a.body());
            assertEquals("temporarily_unavailable", JsonPath.from(a.body()).getString("error"));
            assertEquals("5", a.retryAfter());
        }
        System.out.printf(
                "Redis 3 s slow, timeout 1 s: %d refreshes answered 503, slowest after %d ms%n",
                answers.size(), max(answers));
        assertTrue(max(answers) < 3000, "cut off by the Redis timeout, not at Redis' pace: " + max(answers) + " ms");

        redisFastAgain();
        upstream.upstreamRefreshesWithoutRotation(0);
        Timed after = refresh(handle).get(30, TimeUnit.SECONDS);
        assertEquals(200, after.status(), "the session survived and Redis works again: " + after.body());
    }

    @Test
    void slowUpstreamGives504AtTheReadTimeoutForEverySessionAtOnce() throws Exception {
        upstream.upstreamIssuesTokens();
        List<String> handles = new ArrayList<>();
        for (int i = 0; i < CONCURRENT / 2; i++) {
            handles.add(Broker.exchange(Broker.MOBILE, "CODE-slow-" + i, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                    .statusCode(200)
                    .extract()
                    .path("refresh_token"));
        }

        upstream.upstreamAnswersAfter(6000);
        List<Timed> answers = whileWaiting(handles);

        for (Timed a : answers) {
            assertEquals(504, a.status(), a.body());
            assertEquals("temporarily_unavailable", JsonPath.from(a.body()).getString("error"));
        }
        System.out.printf(
                "upstream 6 s slow, read timeout 2 s: %d refreshes answered 504, slowest after %d ms%n",
                answers.size(), max(answers));
        assertTrue(max(answers) < 6000, "cut off by the read timeout, not at the upstream's pace: " + max(answers));
    }
}
