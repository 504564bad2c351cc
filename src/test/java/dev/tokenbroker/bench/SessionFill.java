package dev.tokenbroker.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
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
import dev.tokenbroker.session.IssuedTokens;
import dev.tokenbroker.session.SessionStore;
import dev.tokenbroker.support.Await;
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
 * upstream grants, no DPoP key, and its entry in the client's active-sessions set. Then each is refreshed once
 * through the store, as a session in use is: a rotated handle and refresh token, and the answer kept for retries and
 * the reuse window, with an access token of {@code bench.fill.access-token-length} characters (default 1,000: an
 * RS256 JWT with a dozen claims; 0 leaves the sessions as exchanges left them). It measures again once those answers
 * have expired, as for sessions idle since their refresh.
 */
@QuarkusTest
@TestProfile(SessionFill.BenchRedis.class)
@EnabledIfSystemProperty(named = "bench.fill.sessions", matches = "[1-9]\\d{0,8}")
class SessionFill {

    private static final String CLIENT = "bench";
    private static final int IN_FLIGHT = 256;
    private static final Duration LOCK = Duration.ofSeconds(30);

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
        int accessTokenLength = Integer.getInteger("bench.fill.access-token-length", 1000);
        // One session first, so that the scripts Redis caches are not counted as the sessions' memory.
        store(1, accessTokenLength);
        long before = usedMemory();
        long keysBefore = dbSize();
        long started = System.nanoTime();
        Sample last = store(count, accessTokenLength);
        double seconds = (System.nanoTime() - started) / 1e9;
        long after = usedMemory();
        long keysAfter = dbSize();
        String report = report(count, accessTokenLength, seconds, before, after, last);
        if (accessTokenLength > 0) {
            // Each refresh adds two keys to the session's three: its answer and its commit's marker.
            report += idle(count, before, after, keysAfter - keysBefore == 5L * count, last);
        }
        System.out.println(report);
        Files.writeString(Path.of(System.getProperty("bench.fill.out", "target/session-fill.txt")), report);
    }

    private Sample store(int count, int accessTokenLength) {
        Sample last = null;
        for (int done = 0; done < count; done += IN_FLIGHT) {
            List<Uni<Void>> batch = new ArrayList<>();
            for (int i = done; i < Math.min(count, done + IN_FLIGHT); i++) {
                last = new Sample(Handles.newHandle(), "user-" + hex(16), hex(16), hex(8));
                Sample s = last;
                batch.add(create(s)
                        .chain(() ->
                                accessTokenLength == 0 ? Uni.createFrom().voidItem() : refresh(s, accessTokenLength)));
            }
            Uni.join().all(batch).andFailFast().await().indefinitely();
        }
        return last;
    }

    /** @param owner the lock owner of its refresh */
    private record Sample(Handles.Handle handle, String subject, String upstreamSid, String owner) {}

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

    /** What a refresh through the broker stores: begin (lock), then commit with a rotated handle and refresh token. */
    private Uni<Void> refresh(Sample s, int accessTokenLength) {
        String id = s.handle().sessionId();
        Handles.Handle next = s.handle().rotated();
        String owner = s.owner();
        IssuedTokens issued = new IssuedTokens(
                "a".repeat(accessTokenLength), "Bearer", 300L, "openid offline_access api", null, next.value());
        return store.beginRefresh(id, s.handle().secretHash(), CLIENT, "", null, owner, LOCK, null)
                .chain(begin -> {
                    if (!(begin instanceof SessionStore.Begin.Locked locked)) {
                        throw new IllegalStateException("the refresh of a new session did not lock: " + begin);
                    }
                    return store.commitRefresh(
                            id, CLIENT, owner, locked.version(), "", issued, hex(32), next.secretHash(), null);
                })
                .invoke(outcome -> {
                    if (outcome != SessionStore.CommitOutcome.COMMITTED) {
                        throw new IllegalStateException("the refresh of a new session did not commit: " + outcome);
                    }
                })
                .replaceWithVoid();
    }

    private String report(int count, int accessTokenLength, double seconds, long before, long after, Sample last) {
        String id = last.handle().sessionId();
        long session = memoryUsage(keys.session(id));
        long bySubject = memoryUsage(keys.subjectIndex(keyRing.indexTag(last.subject())));
        long bySid = memoryUsage(keys.upstreamSessionIndex(keyRing.indexTag(last.upstreamSid())));
        long active = memoryUsage(keys.activeSessions(CLIENT));
        long perSession = (after - before) / count;
        return String.join(
                "\n",
                "sessions stored: %d in %.1f s (%.0f per second), %s"
                        .formatted(
                                count,
                                seconds,
                                count / seconds,
                                accessTokenLength == 0
                                        ? "as exchanges left them"
                                        : "each refreshed once (access token " + accessTokenLength + " characters)"),
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

    /**
     * Waits until the last refresh's short-lived keys have expired (the session's last answer, which lives past the
     * rotation grace and the reuse window, and the commit's marker), then measures twice: as Redis holds them then (its
     * active expiry reclaims expired keys by sampling, and stops while fewer than a tenth of those it samples have
     * expired), and after a SCAN of every key, which reclaims each expired one it meets: sessions idle since their
     * refresh. When the fill ended before any of those keys expired, the difference is what a session costs more
     * while its last refresh may still be answered again.
     */
    private String idle(int count, long before, long after, boolean allStillStored, Sample last) {
        String id = last.handle().sessionId();
        long answer = memoryUsage(keys.lastAnswer(id));
        // PTTL answers -2 for a key that has expired (and deletes it): the last answer and marker are then past their
        // lifetime, and so are all the others, written before them.
        Await.until(
                "the last refresh's answer and commit marker have expired",
                Duration.ofMinutes(3), // a commit marker lives one minute
                () -> pttl(keys.lastAnswer(id)) == -2 && pttl(keys.refreshCommit(id, last.owner())) == -2);
        long unreclaimed = usedMemory();
        long keysUnreclaimed = dbSize();
        scanEveryKey();
        long idle = usedMemory();
        return String.join(
                "\n",
                "MEMORY USAGE of one session's last answer: %d".formatted(answer),
                "past their lifetime, before Redis reclaimed them all: used_memory %d bytes, %d per session (%d keys expired, not yet reclaimed)"
                        .formatted(unreclaimed, (unreclaimed - before) / count, keysUnreclaimed - dbSize()),
                "once a SCAN reclaimed them (sessions idle since their refresh): used_memory %d bytes, %d per session"
                        .formatted(idle, (idle - before) / count),
                allStillStored
                        ? "  answer and commit marker, while the last refresh may be answered again: %d per session"
                                .formatted((after - idle) / count)
                        : "  some answers expired during the fill: a fill of fewer sessions (20000) gives their cost",
                "MEMORY USAGE of one session hash: %d".formatted(memoryUsage(keys.session(id))),
                "");
    }

    /** SCAN deletes each expired key it meets. */
    private void scanEveryKey() {
        String cursor = "0";
        do {
            cursor = redis.execute("SCAN", cursor, "COUNT", "1000")
                    .await()
                    .indefinitely()
                    .get(0)
                    .toString();
        } while (!cursor.equals("0"));
    }

    private long pttl(String key) {
        return redis.execute("PTTL", key).await().indefinitely().toLong();
    }

    private long dbSize() {
        return redis.execute("DBSIZE").await().indefinitely().toLong();
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
