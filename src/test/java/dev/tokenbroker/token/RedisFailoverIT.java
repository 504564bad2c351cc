package dev.tokenbroker.token;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.BrokerProcess;
import dev.tokenbroker.support.OneTimeRefreshUpstream;
import dev.tokenbroker.support.RedisNode;
import dev.tokenbroker.support.RedisTopology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Failover under load ({@code ./mvnw -B verify -Pfailover}, not part of the default build): two packaged brokers refresh
 * 200 sessions continuously through Sentinel ({@code min-replicas-acked=1}) against an upstream with one-time refresh
 * tokens; the test kills the Redis primary with SIGKILL, Sentinel promotes the replica, and the killed node comes
 * back (as a restarted pod would) as the new primary's replica. Prints sessions lost, refresh tokens presented twice,
 * 5xx answers and the seconds until every answer was a 200 again.
 */
class RedisFailoverIT {

    private static final int SESSIONS = 200;
    private static final int WORKERS = 20;
    private static final Duration BEFORE_KILL = Duration.ofSeconds(5);
    private static final Duration AFTER_KILL = Duration.ofSeconds(30);
    private static final Pattern HANDLE = Pattern.compile("\"refresh_token\":\"([^\"]+)\"");

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /** One answer to a refresh, in nanoseconds since the start. */
    record Answer(long at, int status, boolean retryAfter) {}

    @Test
    void killingTheRedisPrimaryUnderLoadLosesNoSessionAndPresentsNoRefreshTokenTwice() throws Exception {
        try (RedisTopology redis = RedisTopology.sentinel();
                OneTimeRefreshUpstream upstream = new OneTimeRefreshUpstream();
                BrokerProcess a = BrokerProcess.launch(env(redis, upstream));
                BrokerProcess b = BrokerProcess.launch(env(redis, upstream))) {
            a.awaitReady();
            b.awaitReady();
            List<String> brokers = List.of(a.baseUrl(), b.baseUrl());
            String[] handles = new String[SESSIONS];
            for (int i = 0; i < SESSIONS; i++) {
                HttpResponse<String> r = post(
                        brokers.get(i % 2),
                        "grant_type=authorization_code&client_id=clover&code=CODE-" + i
                                + "&redirect_uri=clover%3A%2F%2Fauth-callback&code_verifier="
                                + "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
                assertEquals(200, r.statusCode(), r.body());
                handles[i] = handle(r.body());
            }

            ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
            boolean[] lost = new boolean[SESSIONS];
            long start = System.nanoTime();
            long killAt = start + BEFORE_KILL.toNanos();
            long end = killAt + AFTER_KILL.toNanos();
            ExecutorService pool = Executors.newFixedThreadPool(WORKERS);
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < WORKERS; w++) {
                int worker = w;
                workers.add(pool.submit(() -> {
                    int round = 0;
                    while (System.nanoTime() < end) {
                        for (int s = worker; s < SESSIONS; s += WORKERS) {
                            if (lost[s] || System.nanoTime() >= end) {
                                continue;
                            }
                            Answer answer = refresh(brokers.get((s + round) % 2), handles, s);
                            answers.add(answer);
                            lost[s] = answer.status() == 400;
                        }
                        round++;
                    }
                    return null;
                }));
            }
            TimeUnit.NANOSECONDS.sleep(killAt - System.nanoTime());
            RedisNode old = redis.primary();
            old.kill();
            long killed = System.nanoTime();
            RedisNode promoted = redis.awaitPromotionOtherThan(old);
            double promotedAfter = seconds(System.nanoTime() - killed);
            TimeUnit.SECONDS.sleep(2);
            old.restart(); // Sentinel makes it the replica of the new primary
            for (Future<?> worker : workers) {
                worker.get(AFTER_KILL.toSeconds() + 60, TimeUnit.SECONDS);
            }
            pool.shutdown();

            List<Answer> all = List.copyOf(answers);
            List<Answer> failed = all.stream().filter(x -> x.status() != 200).toList();
            long sessionsLost = 0;
            for (boolean l : lost) {
                sessionsLost += l ? 1 : 0;
            }
            long serverErrors = failed.stream().filter(x -> x.status() >= 500).count();
            long unavailableWithRetryAfter = failed.stream()
                    .filter(x -> x.status() == 503 && x.retryAfter())
                    .count();
            long beforeKill = failed.stream().filter(x -> x.at() < killed).count();
            double recovered = failed.isEmpty()
                    ? 0
                    : seconds(failed.stream().mapToLong(Answer::at).max().orElseThrow() - killed);
            System.out.printf(
                    "failover figures: sessions=%d refreshes=%d (upstream %d) ok=%d sessions_lost=%d "
                            + "refresh_tokens_presented_twice=%d answers_5xx=%d (503 with Retry-After: %d, before the kill: %d) "
                            + "other_non_200=%d promoted_after_s=%.1f recovered_after_s=%.1f new_primary=%d%n",
                    SESSIONS,
                    all.size(),
                    upstream.refreshes(),
                    all.size() - failed.size(),
                    sessionsLost,
                    upstream.presentedTwice(),
                    serverErrors,
                    unavailableWithRetryAfter,
                    beforeKill,
                    failed.size() - serverErrors,
                    promotedAfter,
                    recovered,
                    promoted.port());

            assertEquals(0, upstream.presentedTwice(), "no refresh token presented twice");
            assertEquals(0, sessionsLost, "no session lost");
            assertEquals(0, beforeKill, "no failure before the kill");
            assertEquals(serverErrors, unavailableWithRetryAfter, "every 5xx is a 503 with Retry-After");
            assertEquals(failed.size(), serverErrors, "no other failure");
            assertTrue(recovered < AFTER_KILL.toSeconds() - 5, "recovered well before the end of the run");
        }
    }

    private Answer refresh(String broker, String[] handles, int session) {
        try {
            HttpResponse<String> r = post(
                    broker,
                    "grant_type=refresh_token&client_id=clover&refresh_token="
                            + URLEncoder.encode(handles[session], StandardCharsets.US_ASCII));
            if (r.statusCode() == 200) {
                handles[session] = handle(r.body());
            }
            return new Answer(
                    System.nanoTime(),
                    r.statusCode(),
                    r.headers().firstValue("Retry-After").isPresent());
        } catch (Exception e) {
            return new Answer(System.nanoTime(), 599, false); // no answer at all
        }
    }

    private HttpResponse<String> post(String broker, String form) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(broker + "/oauth2/token"))
                        .timeout(Duration.ofSeconds(15))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .POST(HttpRequest.BodyPublishers.ofString(form))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String handle(String body) {
        Matcher m = HANDLE.matcher(body);
        assertTrue(m.find(), "a handle in " + body);
        return m.group(1);
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    private static Map<String, String> env(RedisTopology redis, OneTimeRefreshUpstream upstream) {
        Map<String, String> env = new HashMap<>();
        redis.brokerConfig()
                .forEach((k, v) -> env.put(
                        k.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_'), v));
        env.put("BROKER_SESSION_MIN_REPLICAS_ACKED", "1");
        env.put("BROKER_SESSION_REFRESH_REUSE_WINDOW", "0s");
        env.put("BROKER_UPSTREAM_TOKEN_ENDPOINT", upstream.baseUrl() + "/token");
        env.put("BROKER_UPSTREAM_REVOCATION_ENDPOINT", upstream.baseUrl() + "/revocation");
        env.put("BROKER_UPSTREAM_CONNECT_TIMEOUT", "1s");
        env.put("BROKER_UPSTREAM_READ_TIMEOUT", "2s");
        env.put("BROKER_CLIENTS_CLOVER_CLIENT_ID", "clover");
        env.put("BROKER_CLIENTS_CLOVER_CLIENT_SECRET", "env-secret");
        env.put("BROKER_CLIENTS_CLOVER_REDIRECT_URIS", "clover://auth-callback");
        env.put("BROKER_SESSION_ENCRYPTION_KEYS_K1", Base64.getEncoder().encodeToString(new byte[32]));
        env.put("BROKER_SESSION_ENCRYPTION_KEY_ID", "k1");
        return env;
    }
}
