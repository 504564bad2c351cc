package dev.tokenbroker.session;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.error.BrokerException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.redis.datasource.RedisDataSource;
import io.vertx.mutiny.redis.client.Response;

/**
 * Sessions in Redis. One hash per session at {@code <prefix>session:{<handle hash>}} and its refresh lock at
 * {@code <prefix>lock:{<handle hash>}}; the braces are a Redis Cluster hash tag, so both keys share a slot and
 * the Lua scripts below may touch both. Token material is stored only as {@link KeyRing} envelopes whose
 * associated data names the session and field. Every Redis failure becomes
 * {@link BrokerException.StoreUnavailable}.
 */
@Singleton
public class SessionStore {

    private static final Logger LOG = Logger.getLogger(SessionStore.class);

    /** KEYS[1] session; ARGV[1] ttl millis, then field/value pairs. */
    private static final String CREATE = """
            redis.call('HSET', KEYS[1], unpack(ARGV, 2))
            redis.call('PEXPIRE', KEYS[1], ARGV[1])
            return 1""";

    /**
     * KEYS[1] session, KEYS[2] lock; ARGV owner, expected version, refreshed-at, issued envelope,
     * refresh-token envelope or "" to keep the stored one. Returns 1 committed, 0 version moved on, -1 session gone.
     * Idempotent for its owner: a retry after a commit whose reply was lost finds its own commit and returns 1.
     * HSET keeps the key's TTL, so a session's absolute lifetime is never extended.
     */
    private static final String COMMIT_REFRESH = """
            if redis.call('EXISTS', KEYS[1]) == 0 then
              if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
              return -1
            end
            local version = redis.call('HGET', KEYS[1], 'version')
            local bumped = tostring(tonumber(ARGV[2]) + 1)
            if version == bumped and redis.call('HGET', KEYS[1], 'committer') == ARGV[1] then return 1 end
            if version ~= ARGV[2] then return 0 end
            redis.call('HSET', KEYS[1], 'version', bumped, 'committer', ARGV[1], 'refreshed', ARGV[3], 'issued', ARGV[4])
            if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'rt', ARGV[5]) end
            if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
            return 1""";

    /** KEYS[1] lock; ARGV[1] owner, ARGV[2] ttl millis. Renews the lock only if we still own it. */
    private static final String EXTEND = """
            if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
            return 0""";

    /** KEYS[1] session; ARGV[1] version. Deletes the session unless someone committed a refresh since. */
    private static final String DELETE_IF_VERSION = """
            if redis.call('HGET', KEYS[1], 'version') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
            return 0""";

    /**
     * KEYS[1] session; ARGV[1] client id. Deletes the session if it belongs to that client and returns the refresh
     * token envelope it held at that instant, so a refresh committed just before is revoked too.
     */
    private static final String TAKE = """
            if redis.call('HGET', KEYS[1], 'client') ~= ARGV[1] then return false end
            local rt = redis.call('HGET', KEYS[1], 'rt')
            redis.call('DEL', KEYS[1])
            return rt""";

    /** KEYS[1] lock; ARGV[1] owner. Releases the lock only if we still own it. */
    private static final String UNLOCK = """
            if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
            return 0""";

    public enum CommitOutcome { COMMITTED, VERSION_MOVED, SESSION_GONE }

    private final RedisDataSource redis;
    private final KeyRing keyRing;
    private final ObjectMapper json;
    private final String prefix;
    private final Duration maxLifetime;
    private final Counter redisErrors;

    SessionStore(RedisDataSource redis, KeyRing keyRing, ObjectMapper json, BrokerConfig config, MeterRegistry registry) {
        this.redis = redis;
        this.redisErrors = Counter.builder("broker.redis.errors").description("Failed Redis operations")
                .register(registry);
        this.keyRing = keyRing;
        this.json = json;
        this.prefix = config.session().keyPrefix();
        this.maxLifetime = config.session().maxLifetime();
    }

    public void create(String handleHash, String clientId, String scope, String subject, String upstreamSid,
            String refreshToken, long now) {
        String rt = keyRing.encrypt(refreshToken, aad(handleHash, "rt"));
        call("create session", () -> redis.execute("EVAL", CREATE, "1", sessionKey(handleHash),
                Long.toString(maxLifetime.toMillis()),
                "client", clientId, "created", Long.toString(now), "refreshed", "0", "version", "0",
                "scope", nullToEmpty(scope), "sub", nullToEmpty(subject), "sid", nullToEmpty(upstreamSid), "rt", rt));
    }

    public Optional<Session> find(String handleHash) {
        Map<String, String> h = call("read session", () -> redis.hash(String.class).hgetall(sessionKey(handleHash)));
        if (h == null || h.isEmpty() || !h.containsKey("rt")) {
            return Optional.empty();
        }
        try {
            String refreshToken = keyRing.decrypt(h.get("rt"), aad(handleHash, "rt"));
            Optional<IssuedTokens> issued = Optional.ofNullable(h.get("issued"))
                    .map(envelope -> readIssued(keyRing.decrypt(envelope, aad(handleHash, "issued"))));
            return Optional.of(new Session(handleHash, h.get("client"), Long.parseLong(h.get("created")),
                    Long.parseLong(h.get("refreshed")), h.get("scope"), emptyToNull(h.get("sub")),
                    emptyToNull(h.get("sid")), Long.parseLong(h.get("version")), refreshToken, issued));
        } catch (IllegalStateException | NumberFormatException e) {
            // A removed key or a tampered record: the session is unusable, the user must sign in again.
            LOG.warnf("Stored session is unreadable and treated as absent: %s", e.getMessage());
            return Optional.empty();
        }
    }

    /** SET NX PX: true if this owner now holds the session's refresh lock. */
    public boolean tryLock(String handleHash, String owner, Duration ttl) {
        Response r = call("lock session", () -> redis.execute("SET", lockKey(handleHash), owner, "NX", "PX",
                Long.toString(ttl.toMillis())));
        return r != null && "OK".equals(r.toString());
    }

    public boolean isLocked(String handleHash) {
        return call("check lock", () -> redis.key(String.class).exists(lockKey(handleHash)));
    }

    /** @return false when the lock is no longer ours */
    public boolean extendLock(String handleHash, String owner, Duration ttl) {
        Response r = call("extend lock", () -> redis.execute("EVAL", EXTEND, "1", lockKey(handleHash), owner,
                Long.toString(ttl.toMillis())));
        return r != null && r.toLong() == 1;
    }

    public void unlock(String handleHash, String owner) {
        call("unlock session", () -> redis.execute("EVAL", UNLOCK, "1", lockKey(handleHash), owner));
    }

    /** Stores a refresh result if nobody else committed since {@code expectedVersion}, and releases our lock. */
    public CommitOutcome commitRefresh(String handleHash, String owner, long expectedVersion, long now,
            IssuedTokens issued, String rotatedRefreshToken) {
        String issuedEnvelope = keyRing.encrypt(writeIssued(issued), aad(handleHash, "issued"));
        String rtEnvelope = rotatedRefreshToken == null ? "" : keyRing.encrypt(rotatedRefreshToken, aad(handleHash, "rt"));
        Response r = call("commit refresh", () -> redis.execute("EVAL", COMMIT_REFRESH, "2",
                sessionKey(handleHash), lockKey(handleHash), owner, Long.toString(expectedVersion),
                Long.toString(now), issuedEnvelope, rtEnvelope));
        long outcome = r.toLong();
        return outcome == 1 ? CommitOutcome.COMMITTED
                : outcome == 0 ? CommitOutcome.VERSION_MOVED : CommitOutcome.SESSION_GONE;
    }

    /** Ends a session whose upstream refresh token died, unless a newer refresh token was committed meanwhile. */
    public void deleteIfVersion(String handleHash, long version) {
        call("delete session", () -> redis.execute("EVAL", DELETE_IF_VERSION, "1", sessionKey(handleHash),
                Long.toString(version)));
    }

    /**
     * Atomically deletes the client's session and returns its current upstream refresh token; empty when there is
     * no such session for that client.
     */
    public Optional<String> take(String handleHash, String clientId) {
        Response r = call("delete session", () -> redis.execute("EVAL", TAKE, "1", sessionKey(handleHash), clientId));
        if (r == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(keyRing.decrypt(r.toString(), aad(handleHash, "rt")));
        } catch (IllegalStateException e) {
            LOG.warnf("Deleted a session whose refresh token is unreadable: %s", e.getMessage());
            return Optional.empty();
        }
    }

    String sessionKey(String handleHash) {
        return prefix + "session:{" + handleHash + "}";
    }

    String lockKey(String handleHash) {
        return prefix + "lock:{" + handleHash + "}";
    }

    private static String aad(String handleHash, String field) {
        return "session:" + handleHash + ":" + field;
    }

    private String writeIssued(IssuedTokens issued) {
        try {
            return json.writeValueAsString(issued);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise issued tokens", e);
        }
    }

    private IssuedTokens readIssued(String value) {
        try {
            return json.readValue(value, IssuedTokens.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored issued tokens are not JSON");
        }
    }

    private <T> T call(String operation, Supplier<T> redisCall) {
        try {
            return redisCall.get();
        } catch (RuntimeException e) {
            redisErrors.increment();
            throw new BrokerException.StoreUnavailable("Redis failed to " + operation + ": " + e.getClass().getName(), e);
        }
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
