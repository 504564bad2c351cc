package dev.tokenbroker.fuzz;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

import com.github.tomakehurst.wiremock.WireMockServer;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Writes generated request bytes ({@link RequestGenerator}) to the running broker over raw sockets, one case at a
 * time, and checks {@link Invariants} for every answer, counting the calls that reach the upstream (WireMock) per
 * case. {@code -Dfuzz.cases} sets how many cases (10,000 in {@code verify}; {@code -Pfuzz} runs 1,000,000) and
 * {@code -Dfuzz.seed} replays a run (cases are drawn from one seeded generator in order, whatever the threads do).
 * Afterwards: no ERROR logged by the broker during the run, no 5xx in its metrics, and a real session (exchange, then
 * refresh) still works.
 *
 * <p>The broker logs at WARN here ({@link Quiet}): a million INFO and TRACE lines would cost more than the requests,
 * and fuzzed bytes do not belong in the log that the log-leak tests scan. ERROR records are caught by a handler.
 */
@QuarkusTest
@TestProfile(HttpFuzzTest.Quiet.class)
@WithTestResource(RedisResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class HttpFuzzTest {

    private static final int REPORTED = 20;

    public static class Quiet implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "quarkus.log.file.level", "WARN",
                    "quarkus.log.console.level", "WARN",
                    "quarkus.log.category.\"io.vertx\".level", "INFO",
                    "quarkus.log.category.\"org.jboss.resteasy.reactive\".level", "INFO",
                    "quarkus.log.category.\"io.quarkus.redis\".level", "INFO",
                    "quarkus.log.category.\"dev.tokenbroker\".level", "INFO");
        }
    }

    @ConfigProperty(name = "quarkus.http.test-port")
    int port;

    @Test
    void noGeneratedRequestBreaksAnInvariantAndARealSessionWorksAfterwards() throws Exception {
        long cases = Long.getLong("fuzz.cases", 10_000);
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        int threads = Integer.getInteger("fuzz.threads", 16);
        // Warm up first (Redis connections, scripts loaded, JIT): the invariants are about malformed input, not about
        // the first requests on a loaded machine meeting the 3 s Redis timeout.
        realSessionStillWorks();
        DuendeStubs upstream = DuendeStubs.reset();
        upstream.upstreamIssuesTokens();
        Map<String, List<String>> tokenCalls = recordTokenCallsByCode(WireMockUpstreamResource.server());

        RequestGenerator generator = new RequestGenerator(seed);
        AtomicLong next = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        Map<String, LongAdder> families = new ConcurrentSkipListMap<>();
        long started = System.nanoTime();
        try (ErrorLog errors = ErrorLog.install()) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            for (int t = 0; t < threads; t++) {
                pool.execute(() -> {
                    while (true) {
                        FuzzCase c;
                        long i;
                        // One generator, drawn in order: case i is the same for a seed whatever the threads do.
                        synchronized (generator) {
                            i = next.getAndIncrement();
                            if (i >= cases) {
                                return;
                            }
                            c = generator.next();
                        }
                        families.computeIfAbsent(c.family(), f -> new LongAdder())
                                .increment();
                        List<String> broken = new ArrayList<>(run(c));
                        if (c.code() != null) {
                            broken.addAll(Invariants.checkUpstream(c.upstream(), remove(tokenCalls, c.code())));
                        }
                        if (!broken.isEmpty() && failed.incrementAndGet() <= REPORTED) {
                            failures.add("case " + i + " (" + c.family() + "): " + broken + "\n    bytes: \""
                                    + Escape.text(c.bytes(), 600) + "\"");
                        }
                    }
                });
            }
            pool.shutdown();
            assertTrue(pool.awaitTermination(2, TimeUnit.HOURS), "the fuzzer finished");
            double seconds = (System.nanoTime() - started) / 1e9;
            // Calls no case claimed (their code was mutated): each must still have been a valid exchange.
            synchronized (tokenCalls) {
                tokenCalls.forEach((code, calls) -> Invariants.checkUpstream(FuzzCase.Upstream.IF_VALID, calls)
                        .forEach(b -> {
                            failed.incrementAndGet();
                            failures.add("unclaimed upstream call: " + b);
                        }));
            }
            errors.records().forEach(r -> {
                failed.incrementAndGet();
                failures.add("logged at ERROR: " + r);
            });
            String summary = String.format(
                    "fuzz: %d cases in %.1f s (%.0f cases/s, %d threads), %d failures, seed %d (-Dfuzz.seed=%d)%n"
                            + "      families %s",
                    cases, seconds, cases / seconds, threads, failed.get(), seed, seed, families);
            System.out.println(summary);
            Files.writeString(
                    Path.of("target", "fuzz-summary.txt"), summary + "\n" + String.join("\n", failures) + "\n");
            if (failed.get() > 0) {
                fail(summary + "\n" + String.join("\n", failures));
            }
        }

        assertNoServerErrorsCounted();
        realSessionStillWorks();
    }

    private List<String> run(FuzzCase c) {
        try {
            RawHttp.Exchange answer = RawHttp.send(
                    port,
                    c.bytes(),
                    c.slices(),
                    c.pauseMillis(),
                    c.mayStall() ? RawHttp.STALL_TIMEOUT_MILLIS : RawHttp.ANSWER_TIMEOUT_MILLIS);
            return Invariants.check(c, answer);
        } catch (IOException | RuntimeException e) {
            return List.of("client side: " + e);
        }
    }

    /**
     * WireMock tells its listeners about a request before it answers it, so a case's upstream calls are recorded by
     * the time the broker answers the case.
     */
    private static Map<String, List<String>> recordTokenCallsByCode(WireMockServer wm) {
        Map<String, List<String>> calls = new HashMap<>();
        wm.addMockServiceRequestListener((request, response) -> {
            if (request.getUrl().startsWith("/connect/token")) {
                String body = request.getBodyAsString();
                synchronized (calls) {
                    calls.computeIfAbsent(Invariants.code(body), k -> new ArrayList<>())
                            .add(body);
                }
            }
        });
        return calls;
    }

    private static List<String> remove(Map<String, List<String>> calls, String code) {
        synchronized (calls) {
            List<String> mine = calls.remove(code);
            return mine == null ? List.of() : mine;
        }
    }

    private static void assertNoServerErrorsCounted() {
        String metrics = Management.metrics();
        metrics.lines()
                .filter(l -> (l.startsWith("http_server_requests_seconds_count") && l.contains("status=\"5"))
                        || (l.startsWith("broker_token_operations_seconds_count") && l.contains("server_error")))
                .forEach(l -> fail("a server error was counted: " + l));
    }

    private static void realSessionStillWorks() {
        DuendeStubs upstream = DuendeStubs.reset();
        upstream.upstreamIssuesTokens();
        upstream.upstreamRotatesRefreshToken(0);
        String handle = Broker.exchange(Broker.MOBILE, "CODE-after-fuzz", Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        String next =
                Broker.refresh(Broker.MOBILE, handle).statusCode(200).extract().path("refresh_token");
        assertTrue(next != null && !next.equals(handle), "the refresh rotated the handle");
        assertEquals(2, upstream.tokenCalls().size(), "one exchange and one refresh upstream");
    }
}
