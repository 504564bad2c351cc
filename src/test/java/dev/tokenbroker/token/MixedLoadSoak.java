package dev.tokenbroker.token;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;

import dev.tokenbroker.devmode.RedisServer;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.BrokerProcess;
import dev.tokenbroker.support.DuendeStubs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ./mvnw -Psoak verify [-Dsoak.duration=10m]}: two packaged brokers on one Redis under a closed-loop mixed load
 * (code exchange, refresh, revoke, bad input) for {@code soak.duration} (default 10 minutes). Prints RSS and heap of
 * both brokers after warm-up (a fifth of the run) and at the end, error counts and p99 per operation; fails on any
 * unexpected answer, or when a broker's RSS grew more than 10 % after warm-up.
 */
class MixedLoadSoak {

    private static final Pattern HANDLE = Pattern.compile("\"refresh_token\":\"([^\"]+)\"");
    private static final Pattern HEAP = Pattern.compile("(?m)^jvm_memory_used_bytes\\{area=\"heap\"[^}]*} ([0-9.E+]+)");
    private static final int WORKERS = 8;

    private final Map<String, List<Long>> latencies = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> errors = new ConcurrentHashMap<>();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void twoReplicasStayFlatUnderMixedLoad() throws Exception {
        Duration duration =
                Duration.parse("PT" + System.getProperty("soak.duration", "10m").toUpperCase(java.util.Locale.ROOT));
        try (RedisServer redis = RedisServer.start()) {
            WireMockServer wm = new WireMockServer(WireMockConfiguration.options()
                    .bindAddress("127.0.0.1")
                    .dynamicPort()
                    .containerThreads(40)
                    .disableRequestJournal());
            wm.start();
            try {
                DuendeStubs upstream = new DuendeStubs(wm);
                upstream.upstreamIssuesTokens();
                upstream.upstreamRefreshesWithoutRotation(0);
                upstream.upstreamAcceptsRevocation();
                Map<String, String> env = BrokerProcess.baseEnv(redis.uri());
                env.put("BROKER_UPSTREAM_TOKEN_ENDPOINT", wm.baseUrl() + "/connect/token");
                env.put("BROKER_UPSTREAM_REVOCATION_ENDPOINT", wm.baseUrl() + "/connect/revocation");
                env.put("BROKER_CLIENTS_CLOVER_CLIENT_ID", "clover");
                env.put("BROKER_CLIENTS_CLOVER_CLIENT_SECRET", "soak-secret");
                env.put("BROKER_CLIENTS_CLOVER_REDIRECT_URIS", "clover://auth-callback");
                env.put("BROKER_SESSION_REFRESH_REUSE_WINDOW", "0s");
                env.put("QUARKUS_LOG_LEVEL", "WARN");
                try (BrokerProcess a = BrokerProcess.launch(env);
                        BrokerProcess b = BrokerProcess.launch(env)) {
                    a.awaitReady();
                    b.awaitReady();
                    run(List.of(a, b), duration);
                }
            } finally {
                wm.stop();
            }
        }
    }

    private void run(List<BrokerProcess> brokers, Duration duration) throws Exception {
        long start = System.nanoTime();
        long warmEnd = start + duration.toNanos() / 5;
        long end = start + duration.toNanos();
        ExecutorService pool = Executors.newFixedThreadPool(WORKERS);
        List<Future<?>> workers = new ArrayList<>();
        for (int w = 0; w < WORKERS; w++) {
            String base = brokers.get(w % brokers.size()).baseUrl();
            int id = w;
            workers.add(pool.submit(() -> {
                work(base, id, end);
                return null;
            }));
        }
        TimeUnit.NANOSECONDS.sleep(Math.max(0, warmEnd - System.nanoTime()));
        latencies.clear();
        List<long[]> warm = new ArrayList<>();
        for (BrokerProcess broker : brokers) {
            warm.add(new long[] {broker.rssKib(), heap(broker)});
        }
        for (Future<?> f : workers) {
            f.get(duration.toSeconds() + 120, TimeUnit.SECONDS);
        }
        pool.shutdown();
        System.out.printf("soak: %s, %d workers on %d brokers%n", duration, WORKERS, brokers.size());
        for (int i = 0; i < brokers.size(); i++) {
            long rss = brokers.get(i).rssKib();
            long heap = heap(brokers.get(i));
            System.out.printf(
                    "broker %d: RSS after warm-up %d MiB, at end %d MiB (%+.1f %%); heap used %d MiB -> %d MiB%n",
                    i,
                    warm.get(i)[0] / 1024,
                    rss / 1024,
                    100.0 * (rss - warm.get(i)[0]) / warm.get(i)[0],
                    warm.get(i)[1] >> 20,
                    heap >> 20);
            assertTrue(rss <= warm.get(i)[0] * 1.10, "broker " + i + " RSS grew more than 10 % after warm-up");
        }
        new TreeMap<>(latencies).forEach((op, list) -> {
            List<Long> sorted = new ArrayList<>(list);
            Collections.sort(sorted);
            long p99 = sorted.isEmpty() ? 0 : sorted.get((int) Math.min(sorted.size() - 1, sorted.size() * 0.99));
            System.out.printf(
                    "%-8s %8d requests  p99 %6.1f ms  errors %d%n",
                    op,
                    sorted.size(),
                    p99 / 1e6,
                    errors.getOrDefault(op, new AtomicLong()).get());
        });
        assertEquals(0, errors.values().stream().mapToLong(AtomicLong::get).sum(), "unexpected answers: " + errors);
    }

    /** One worker: its own sessions, so that a revoke never races a refresh of another worker. */
    private void work(String base, int id, long end) throws Exception {
        List<String> handles = new ArrayList<>();
        for (long i = 0; System.nanoTime() < end; i++) {
            switch ((int) (i % 4)) {
                case 0 -> {
                    String body = call(
                            base,
                            "/oauth2/token",
                            "exchange",
                            200,
                            "grant_type=authorization_code&client_id=clover&code=CODE-" + id + "-" + i
                                    + "&redirect_uri=clover://auth-callback&code_verifier=" + Broker.VERIFIER);
                    Matcher m = HANDLE.matcher(body == null ? "" : body);
                    if (m.find()) {
                        handles.add(m.group(1));
                    }
                }
                case 1 -> {
                    if (!handles.isEmpty()) {
                        int pick = (int) (i % handles.size());
                        String body = call(
                                base,
                                "/oauth2/token",
                                "refresh",
                                200,
                                "grant_type=refresh_token&client_id=clover&refresh_token=" + handles.get(pick));
                        Matcher m = HANDLE.matcher(body == null ? "" : body);
                        if (m.find()) {
                            handles.set(pick, m.group(1));
                        }
                    }
                }
                case 2 -> {
                    if (handles.size() > 4) {
                        call(base, "/oauth2/revoke", "revoke", 200, "client_id=clover&token=" + handles.remove(0));
                    }
                }
                default -> call(base, "/oauth2/token", "bad", 400, "grant_type=password&client_id=clover");
            }
        }
    }

    private String call(String base, String path, String op, int expected, String form) {
        long t0 = System.nanoTime();
        try {
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(URI.create(base + path))
                            .timeout(Duration.ofSeconds(30))
                            .header("Content-Type", "application/x-www-form-urlencoded")
                            .POST(HttpRequest.BodyPublishers.ofString(form))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            latencies
                    .computeIfAbsent(op, k -> Collections.synchronizedList(new ArrayList<>()))
                    .add(System.nanoTime() - t0);
            if (r.statusCode() != expected) {
                errors.computeIfAbsent(op, k -> new AtomicLong()).incrementAndGet();
                return null;
            }
            return r.body();
        } catch (Exception e) {
            errors.computeIfAbsent(op, k -> new AtomicLong()).incrementAndGet();
            return null;
        }
    }

    private long heap(BrokerProcess broker) throws Exception {
        String metrics = http.send(
                        HttpRequest.newBuilder(URI.create(broker.managementUrl() + "/q/metrics"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
        Matcher m = HEAP.matcher(metrics);
        double sum = 0;
        while (m.find()) {
            sum += Double.parseDouble(m.group(1));
        }
        return (long) sum;
    }
}
