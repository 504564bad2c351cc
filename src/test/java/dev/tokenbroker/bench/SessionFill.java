package dev.tokenbroker.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.redis.RedisKeys;
import dev.tokenbroker.session.SessionStore;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.mutiny.Uni;

/**
 * Not a test: {@code BENCH_SESSIONS=N bench/run.sh} runs it (bench/README.md, "Sessions at scale") to put N sessions
 * into the benchmark's Redis through the broker's own store code, as code exchanges would leave them, and to report
 * what they take in Redis. It runs only when {@code bench.fill.sessions} is set, so {@code verify} skips it.
 *
 * <p>Every session gets its own user and upstream session (so its own two index sets: the most index memory a
 * session can take), a 64-character upstream refresh token (Duende's reference token length), the scope the bench
 * upstream grants, no DPoP key, and its entry in the client's active-sessions set.
 */
@QuarkusTest
@TestProfile(SessionFill.BenchRedis.class)
@EnabledIfSystemProperty(named = "bench.fill.sessions", matches = "\\d+")
class SessionFill {

    private static final String CLIENT = "bench";
    private static final int IN_FLIGHT = 256;

    /** The benchmark's Redis and key, and its client; no Redis command log (the test profile traces every one). */
    public static class BenchRedis implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "quarkus.redis.hosts", System.getProperty("bench.fill.redis", "redis://127.0.0.1:6379"),
                    "broker.session.encryption-keys.k1", System.getProperty("bench.fill.key", ""),
                    "broker.clients.bench.client-id", CLIENT,
                    "broker.clients.bench.client-secret", "bench-secret",
                    "broker.clients.bench.redirect-uris", "bench://callback",
                    "broker.upstream.token-endpoint", "http://127.0.0.1:9/connect/token",
                    "broker.upstream.revocation-endpoint", "http://127.0.0.1:9/connect/revocation",
                    "quarkus.log.category.\"io.quarkus.redis\".level", "INFO");
        }
    }

    @Inject
    SessionStore store;

    @Inject
    ReactiveRedisDataSource redis;

    @Inject
    RedisKeys keys;

    @Inject
    KeyRing keyRing;

    @Inject
    BrokerConfig config;

    private final SecureRandom random = new SecureRandom();

    @Test
    void fill() throws IOException {
        int count = Integer.getInteger("bench.fill.sessions");
        long before = usedMemory();
        long started = System.nanoTime();
        Sample last = null;
        for (int done = 0; done < count; done += IN_FLIGHT) {
            List<Uni<Void>> batch = new ArrayList<>();
            for (int i = done; i < Math.min(count, done + IN_FLIGHT); i++) {
                last = new Sample(Handles.newHandle(), "user-" + hex(16), hex(16));
                batch.add(create(last));
            }
            Uni.join().all(batch).andFailFast().await().indefinitely();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        long after = usedMemory();
        String report = report(count, seconds, before, after, last);
        System.out.println(report);
        Files.writeString(Path.of(System.getProperty("bench.fill.out", "target/session-fill.txt")), report);
    }

    private record Sample(Handles.Handle handle, String subject, String upstreamSid) {}

    /** What an exchange stores: the session with its two index entries, then its active-sessions entry. */
    private Uni<Void> create(Sample s) {
        String id = s.handle().sessionId();
        double deadline =
                System.currentTimeMillis() + config.session().maxLifetime().toMillis();
        return store.create(new SessionStore.NewSession(
                        id,
                        s.handle().secretHash(),
                        CLIENT,
                        "openid offline_access api",
                        s.subject(),
                        s.upstreamSid(),
                        hex(32),
                        null,
                        null))
                .chain(() -> redis.sortedSet(String.class).zadd(keys.activeSessions(CLIENT), deadline, id))
                .replaceWithVoid();
    }

    private String report(int count, double seconds, long before, long after, Sample last) {
        String id = last.handle().sessionId();
        long session = memoryUsage(keys.session(id));
        long bySubject = memoryUsage(keys.subjectIndex(keyRing.indexTag(last.subject())));
        long bySid = memoryUsage(keys.upstreamSessionIndex(keyRing.indexTag(last.upstreamSid())));
        long active = memoryUsage(keys.activeSessions(CLIENT));
        long perSession = (after - before) / count;
        return String.join(
                "\n",
                "sessions created: %d in %.1f s (%.0f per second)".formatted(count, seconds, count / seconds),
                "redis used_memory: %d -> %d bytes, %d bytes per session".formatted(before, after, perSession),
                "MEMORY USAGE of one session's keys: session hash %d, user index %d, upstream-session index %d,"
                        .formatted(session, bySubject, bySid),
                "  active-sessions set %d / %d sessions = %d; rest (expiry entries, hash tables) %d"
                        .formatted(
                                active,
                                count,
                                active / count,
                                perSession - session - bySubject - bySid - active / count),
                "");
    }

    private long usedMemory() {
        String info = redis.execute("INFO", "memory").await().indefinitely().toString();
        return info.lines()
                .filter(line -> line.startsWith("used_memory:"))
                .mapToLong(line ->
                        Long.parseLong(line.substring("used_memory:".length()).trim()))
                .findFirst()
                .orElseThrow();
    }

    private long memoryUsage(String key) {
        return redis.execute("MEMORY", "USAGE", key, "SAMPLES", "0")
                .await()
                .indefinitely()
                .toLong();
    }

    private String hex(int bytes) {
        byte[] b = new byte[bytes];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
