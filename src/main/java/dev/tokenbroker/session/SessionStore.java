package dev.tokenbroker.session;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.crypto.Handles.Handle;
import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.error.BrokerException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Response;

/**
 * Sessions in Redis: one hash per session at {@link RedisKeys#session(String)} holding its metadata, the
 * encrypted upstream refresh token and last refresh result, the hashes of its current and just-retired handle
 * secrets, its deadlines and its refresh lock. Every decision about time (reuse window, rotation grace, lock expiry,
 * idle and absolute lifetime) is made inside a script by Redis' clock, so replicas with skewed clocks agree.
 * An upstream-bound refresh costs two round trips: {@link #beginRefresh} and {@link #commitRefresh}.
 * Token material is stored only as {@link KeyRing} envelopes whose associated data names the session and field.
 * Every Redis failure becomes {@link BrokerException.StoreUnavailable}.
 */
@Singleton
public class SessionStore {

    private static final Logger LOG = Logger.getLogger(SessionStore.class);

    /** Milliseconds of Redis' clock; scripts that read it before writing rely on effects replication (Redis ≥ 5). */
    private static final String NOW = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            """;

    /**
     * KEYS[1] session; ARGV[1] max lifetime ms, ARGV[2] idle timeout ms, ARGV[3] upstream refresh token lifetime ms
     * or '' if unknown, ARGV[4] retention ms, then field/value pairs.
     */
    private static final LuaScript CREATE = new LuaScript(NOW + """
            local maxUntil = now + tonumber(ARGV[1])
            local expires = math.min(maxUntil, now + tonumber(ARGV[2]))
            local rtUntil = '0'
            if ARGV[3] ~= '' then
              rtUntil = tostring(now + tonumber(ARGV[3]))
              expires = math.min(expires, tonumber(rtUntil))
            end
            redis.call('HSET', KEYS[1], 'created', tostring(now), 'refreshed', '0', 'version', '0',
              'max_until', tostring(maxUntil), 'rt_until', rtUntil, 'expires', tostring(expires), unpack(ARGV, 5))
            redis.call('PEXPIREAT', KEYS[1], tostring(expires + tonumber(ARGV[4])))
            return 1""");

    /**
     * The first round trip of a refresh: checks the handle and decides. KEYS[1] session, KEYS[2] its web-mode record
     * (same slot), which ends with it; ARGV[1] hash of the presented secret, ARGV[2] client id, ARGV[3] requested
     * scope key, ARGV[4] the version an earlier round saw (or ''), ARGV[5] lock owner, ARGV[6] lock ttl ms, ARGV[7]
     * reuse window ms, ARGV[8] DPoP key thumbprint or ''. The DPoP key is checked before the handle's secret, so
     * that without the key even a retired handle ends nothing; the requested scope is checked before the lock is
     * taken. Returns one of:
     * {'gone'} no such session for this client;
     * {'ended', reason, rt, subject tag, sid tag} deleted here: past a deadline, or a retired handle reused;
     * {'dpop'} the session is bound to a DPoP key and the request did not prove it;
     * {'scope'} the requested scope is not within the session's;
     * {'cached', now, refreshed, issued} answer with the stored result: the handle was retired within its grace and
     * the result is for the same requested scope, or the last result is for the same request and fresh (reuse window)
     * or newer than what an earlier round saw;
     * {'busy', version, issued} another refresh holds the lock;
     * {'ended', 'refresh_interrupted', …} deleted here: the lock expired without being released, so the refresh that
     * held it may have spent the refresh token (its replica died, or its upstream call failed after the request may
     * have been processed); unless this session's upstream has been seen to reuse refresh tokens, presenting it again
     * could be taken upstream for theft;
     * {'locked', now, version, rt, scope, issued} the caller now holds the lock and must refresh upstream.
     * In both, issued is the stored result when the handle was retired within its grace but asked for another scope
     * (RFC 6749 §6: never a broader one), and '' otherwise: its handle is the session's current one, which a locked
     * refresh answers with instead of rotating again, and with which a busy one asks again (another rotation meanwhile
     * would end the grace of the handle it presented).
     */
    private static final LuaScript BEGIN_REFRESH = new LuaScript(NOW + """
            local f = redis.call('HMGET', KEYS[1], 'client', 'expires', 'max_until', 'rt_until', 'cur', 'prev',
              'prev_until', 'jkt', 'version', 'refreshed', 'issued', 'iscope', 'lock', 'lock_until', 'rt', 'scope',
              'subt', 'sidt', 'rtreuse')
            if not f[1] or f[1] ~= ARGV[2] then return {'gone'} end
            if now >= tonumber(f[2]) then
              redis.call('DEL', KEYS[1], KEYS[2])
              local reason = 'idle'
              if now >= tonumber(f[3]) then reason = 'lifetime'
              elseif f[4] ~= '0' and now >= tonumber(f[4]) then reason = 'upstream_lifetime' end
              return {'ended', reason, f[15], f[17] or '', f[18] or ''}
            end
            if f[8] and f[8] ~= '' and f[8] ~= ARGV[8] then return {'dpop'} end
            local grace = false
            if ARGV[1] ~= f[5] then
              if ARGV[1] == f[6] and now < tonumber(f[7]) then grace = true
              else
                redis.call('DEL', KEYS[1], KEYS[2])
                return {'ended', 'reuse', f[15], f[17] or '', f[18] or ''}
              end
            end
            if grace and f[12] == ARGV[3] then return {'cached', tostring(now), f[10], f[11]} end
            if ARGV[3] ~= '' and f[16] and f[16] ~= '' then
              for asked in string.gmatch(ARGV[3], '%S+') do
                if not string.find(' ' .. f[16] .. ' ', ' ' .. asked .. ' ', 1, true) then return {'scope'} end
              end
            end
            if f[11] and f[12] == ARGV[3]
                and ((ARGV[4] ~= '' and f[9] ~= ARGV[4]) or now - tonumber(f[10]) <= tonumber(ARGV[7])) then
              return {'cached', tostring(now), f[10], f[11]}
            end
            local current = ''
            if grace then current = f[11] or '' end
            if f[13] and f[13] ~= ARGV[5] then
              if tonumber(f[14]) > now then return {'busy', f[9], current} end
              if f[19] ~= '1' then
                redis.call('DEL', KEYS[1], KEYS[2])
                return {'ended', 'refresh_interrupted', f[15], f[17] or '', f[18] or ''}
              end
            end
            redis.call('HSET', KEYS[1], 'lock', ARGV[5], 'lock_until', tostring(now + tonumber(ARGV[6])))
            return {'locked', tostring(now), f[9], f[15], f[16] or '', current}""");

    /**
     * The second round trip: stores the result if nobody else committed since the expected version, rotates the
     * handle secret, slides the idle deadline and releases the lock. KEYS[1] session, KEYS[2] this commit's marker
     * (same slot); ARGV[1] owner, ARGV[2] expected version, ARGV[3] issued envelope, ARGV[4] requested scope key,
     * ARGV[5] refresh token envelope or '' to keep the stored one (the upstream reuses refresh tokens: noted, see
     * {@link #BEGIN_REFRESH}), ARGV[6] hash of the new handle secret or '' (no
     * rotation), ARGV[7] rotation grace ms, ARGV[8] idle timeout ms, ARGV[9] upstream refresh token lifetime ms or ''
     * (unchanged), ARGV[10] retention ms, ARGV[11] how long the marker lives, ms.
     * Returns 1 committed, 0 version moved on, -1 session gone. Idempotent for its owner: a retry after a commit whose
     * reply was lost finds its marker and returns 1, even when later refreshes have moved the version on since (then
     * the token it stored has been spent by them, not orphaned: it must not be revoked).
     */
    private static final LuaScript COMMIT_REFRESH = new LuaScript(NOW + """
            local f = redis.call('HMGET', KEYS[1], 'version', 'max_until', 'rt_until', 'cur')
            if not f[1] then return -1 end
            if redis.call('GET', KEYS[2]) == ARGV[2] then return 1 end
            if f[1] ~= ARGV[2] then return 0 end
            local rtUntil = f[3]
            if ARGV[9] ~= '' then rtUntil = tostring(now + tonumber(ARGV[9])) end
            local expires = math.min(tonumber(f[2]), now + tonumber(ARGV[8]))
            if rtUntil ~= '0' then expires = math.min(expires, tonumber(rtUntil)) end
            redis.call('HSET', KEYS[1], 'version', tostring(tonumber(ARGV[2]) + 1), 'refreshed', tostring(now),
              'issued', ARGV[3], 'iscope', ARGV[4], 'rt_until', rtUntil, 'expires', tostring(expires))
            if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'rt', ARGV[5]) redis.call('HDEL', KEYS[1], 'rtreuse')
            else redis.call('HSET', KEYS[1], 'rtreuse', '1') end
            if ARGV[6] ~= '' then
              redis.call('HSET', KEYS[1], 'prev', f[4], 'prev_until', tostring(now + tonumber(ARGV[7])), 'cur', ARGV[6])
            end
            if redis.call('HGET', KEYS[1], 'lock') == ARGV[1] then redis.call('HDEL', KEYS[1], 'lock', 'lock_until') end
            redis.call('PEXPIREAT', KEYS[1], tostring(expires + tonumber(ARGV[10])))
            redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[11])
            return 1""");

    /**
     * KEYS[1] session; ARGV[1] owner. The refresh's upstream call failed after the request may have been processed
     * there: if we still hold the lock, it expires now but stays, so the next refresh decides at once what a lock
     * whose holder died decides when it expires ({@link #BEGIN_REFRESH}).
     */
    private static final LuaScript INTERRUPT = new LuaScript("""
            if redis.call('HGET', KEYS[1], 'lock') == ARGV[1] then
              return redis.call('HSET', KEYS[1], 'lock_until', '0')
            end
            return 0""");

    /** KEYS[1] session; ARGV[1] owner. Releases the refresh lock only if we still hold it. */
    private static final LuaScript RELEASE = new LuaScript("""
            if redis.call('HGET', KEYS[1], 'lock') == ARGV[1] then
              return redis.call('HDEL', KEYS[1], 'lock', 'lock_until')
            end
            return 0""");

    /**
     * KEYS[1] session, KEYS[2] its web-mode record (same slot), which ends with it; ARGV[1] client id or '' for any
     * client, ARGV[2] version or '' for any, ARGV[3] DPoP key thumbprint, '' for none, or 'any' for no check; ARGV[4] hash of a handle secret that must be the current one
     * or the one retired within its grace, or '' for no check. Deletes the session and returns {rt, subject tag,
     * sid tag, client id} as they were at that instant (so a refresh committed just before is revoked too), or nil when there
     * is no such session (for that client, at that version, for that key, for that handle).
     */
    private static final LuaScript TAKE = new LuaScript(NOW + """
            local f = redis.call('HMGET', KEYS[1], 'client', 'version', 'rt', 'subt', 'sidt', 'jkt', 'cur', 'prev',
              'prev_until')
            if not f[1] or (ARGV[1] ~= '' and f[1] ~= ARGV[1]) or (ARGV[2] ~= '' and f[2] ~= ARGV[2])
                or (ARGV[3] ~= 'any' and (f[6] or '') ~= '' and f[6] ~= ARGV[3]) then
              return false
            end
            if ARGV[4] ~= '' and ARGV[4] ~= f[7] and not (ARGV[4] == f[8] and now < tonumber(f[9])) then
              return false
            end
            redis.call('DEL', KEYS[1], KEYS[2])
            return {f[3], f[4] or '', f[5] or '', f[1]}""");

    /** KEYS[1] index set; ARGV[1] session id, ARGV[2] ttl ms. The index lives as long as its newest session. */
    private static final LuaScript INDEX = new LuaScript("""
            redis.call('SADD', KEYS[1], ARGV[1])
            if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
            return 1""");

    /**
     * How long a session's record outlives its deadline. Scripts refuse it from the deadline on; until the record
     * goes, a late refresh still finds it, so its end is audited and its upstream refresh token revoked.
     */
    static final Duration RETENTION = Duration.ofHours(1);

    /**
     * How long a commit's marker lives: longer than a refresh may retry its commit (its lock lifetime, the upstream
     * call budget plus 15 s, is the bound; the default budget is 12 s).
     */
    static final Duration COMMIT_MARKER = Duration.ofMinutes(1);

    /** For {@link #take}: end the session whichever DPoP key it is bound to. */
    public static final String ANY_KEY = "any";

    public enum CommitOutcome {
        COMMITTED,
        VERSION_MOVED,
        SESSION_GONE
    }

    /** A new session, as {@link #create} stores it. {@link #toString()} is redacted. */
    public record NewSession(
            String sessionId,
            String secretHash,
            String clientId,
            String scope,
            String subject,
            String upstreamSid,
            String refreshToken,
            Long refreshExpiresIn,
            String dpopKey) {
        @Override
        public String toString() {
            return "NewSession[id=" + sessionId + ", client=" + clientId + "]";
        }
    }

    /** What {@link #beginRefresh} decided. */
    public sealed interface Begin {
        /** No session for this handle and client. */
        record Gone() implements Begin {}

        /** Deleted by the script: see {@link EndReason}. */
        record Ended(EndReason reason, Ended.Taken taken) implements Begin {
            public record Taken(Optional<String> refreshToken, String subjectTag, String sidTag) {
                @Override
                public String toString() {
                    return "Taken[refresh_token=" + (refreshToken.isPresent() ? "present" : "absent") + "]";
                }
            }
        }

        /** The session is bound to another DPoP key. */
        record WrongDpopKey() implements Begin {}

        /** The requested scope is wider than the session's. */
        record ScopeExceeded() implements Begin {}

        /** Answer with the stored result, {@code ageMillis} old. */
        record Cached(IssuedTokens issued, long ageMillis) implements Begin {}

        /**
         * Another refresh holds the lock.
         *
         * @param currentHandle the session's current handle when the presented one was retired within its grace, to
         *                      ask again with; or null
         */
        record Busy(long version, Handle currentHandle) implements Begin {}

        /**
         * The caller holds the refresh lock.
         *
         * @param currentHandle the session's current handle when the presented one was retired within its grace (the
         *                      refresh answers with it and does not rotate), or null
         */
        record Locked(long version, String refreshToken, String scope, Handle currentHandle) implements Begin {
            @Override
            public String toString() {
                return "Locked[version=" + version + ", scope=" + scope + "]";
            }
        }
    }

    /** Why a session ended. The label is what audit lines and metrics say. */
    public enum EndReason {
        REVOKED("revoke"),
        REUSE("reuse"),
        UPSTREAM_INVALID_GRANT("upstream_invalid_grant"),
        IDLE("idle"),
        LIFETIME("lifetime"),
        UPSTREAM_LIFETIME("upstream_lifetime"),
        ORPHAN("orphan"),
        BACKCHANNEL_LOGOUT("backchannel_logout"),
        ADMIN("admin"),
        MAX_SESSIONS("max_sessions"),
        ABANDONED("abandoned"),
        REFRESH_INTERRUPTED("refresh_interrupted"),
        CODE_REUSED("code_reused"),
        INVALID_LOGIN("invalid_login");

        public final String label;

        EndReason(String label) {
            this.label = label;
        }

        static EndReason of(String label) {
            for (EndReason r : values()) {
                if (r.label.equals(label)) {
                    return r;
                }
            }
            throw new IllegalArgumentException(label);
        }
    }

    private final ReactiveRedisDataSource redis;
    private final RedisCalls calls;
    private final KeyRing keyRing;
    private final ObjectMapper json;
    private final RedisKeys keys;
    private final BrokerConfig.Session config;
    private final Counter replicationShortfalls;

    SessionStore(
            ReactiveRedisDataSource redis,
            KeyRing keyRing,
            ObjectMapper json,
            RedisKeys keys,
            BrokerConfig config,
            MeterRegistry registry,
            RedisCalls calls) {
        this.redis = redis;
        this.calls = calls;
        this.keyRing = keyRing;
        this.json = json;
        this.keys = keys;
        this.config = config.session();
        this.replicationShortfalls = Counter.builder("broker.redis.replication.shortfall")
                .description("Session writes fewer Redis replicas acknowledged in time than "
                        + "broker.session.min-replicas-acked")
                .register(registry);
    }

    /**
     * Indexes the session by user and upstream session first (both at once), so no stored session is ever missing
     * from them, then stores it.
     */
    public Uni<Void> create(NewSession s) {
        String subjectTag = s.subject() == null ? "" : keyRing.indexTag(s.subject());
        String sidTag = s.upstreamSid() == null ? "" : keyRing.indexTag(s.upstreamSid());
        String ttl = Long.toString(config.maxLifetime().plus(RETENTION).toMillis());
        Uni<Response> bySubject = subjectTag.isEmpty()
                ? Uni.createFrom().nullItem()
                : INDEX.run(redis, List.of(keys.subjectIndex(subjectTag)), s.sessionId(), ttl);
        Uni<Response> bySid = sidTag.isEmpty()
                ? Uni.createFrom().nullItem()
                : INDEX.run(redis, List.of(keys.upstreamSessionIndex(sidTag)), s.sessionId(), ttl);
        String rt = keyRing.encrypt(s.refreshToken(), aad(s.sessionId(), "rt"));
        Uni<Response> created = Uni.combine()
                .all()
                .unis(bySubject, bySid)
                .discardItems()
                .chain(() -> durable(
                        CREATE,
                        List.of(keys.session(s.sessionId())),
                        s.sessionId(),
                        Long.toString(config.maxLifetime().toMillis()),
                        Long.toString(config.idleTimeout().toMillis()),
                        lifetimeMillis(s.refreshExpiresIn()),
                        Long.toString(RETENTION.toMillis()),
                        "client",
                        s.clientId(),
                        "scope",
                        nullToEmpty(s.scope()),
                        "subt",
                        subjectTag,
                        "sidt",
                        sidTag,
                        "cur",
                        s.secretHash(),
                        "jkt",
                        nullToEmpty(s.dpopKey()),
                        "rt",
                        rt));
        return calls.guard("create session", created).replaceWithVoid();
    }

    /**
     * @param seenVersion the version an earlier round of this refresh saw, or null on the first round
     * @param dpopKey     thumbprint of the key that signed the request's verified DPoP proof, or null
     */
    public Uni<Begin> beginRefresh(
            String sessionId,
            String secretHash,
            String clientId,
            String scopeKey,
            Long seenVersion,
            String owner,
            Duration lockTtl,
            String dpopKey) {
        return calls.guard(
                        "begin refresh",
                        BEGIN_REFRESH.run(
                                redis,
                                sessionAndWebRecord(sessionId),
                                secretHash,
                                clientId,
                                scopeKey,
                                seenVersion == null ? "" : seenVersion.toString(),
                                owner,
                                Long.toString(lockTtl.toMillis()),
                                Long.toString(config.refreshReuseWindow().toMillis()),
                                nullToEmpty(dpopKey)))
                .map(r -> begin(sessionId, r));
    }

    private Begin begin(String sessionId, Response r) {
        try {
            return switch (r.get(0).toString()) {
                case "gone" -> new Begin.Gone();
                case "ended" ->
                    new Begin.Ended(
                            EndReason.of(r.get(1).toString()),
                            taken(
                                    sessionId,
                                    r.get(2),
                                    r.get(3).toString(),
                                    r.get(4).toString()));
                case "dpop" -> new Begin.WrongDpopKey();
                case "scope" -> new Begin.ScopeExceeded();
                case "cached" ->
                    new Begin.Cached(
                            readIssued(sessionId, r.get(3).toString()),
                            r.get(1).toLong() - r.get(2).toLong());
                case "busy" -> new Begin.Busy(r.get(1).toLong(), currentHandle(sessionId, r.get(2)));
                case "locked" ->
                    new Begin.Locked(
                            r.get(2).toLong(),
                            keyRing.decrypt(r.get(3).toString(), aad(sessionId, "rt")),
                            emptyToNull(r.get(4).toString()),
                            currentHandle(sessionId, r.get(5)));
                default -> throw new IllegalStateException("unknown answer");
            };
        } catch (IllegalStateException | NullPointerException e) {
            // A removed key or a tampered record: the session is unusable, the user must sign in again.
            LOG.warnf("Stored session %s is unreadable and treated as absent: %s", sessionId, e.getMessage());
            return new Begin.Gone();
        }
    }

    /** The handle of a stored result ({@code issued} envelope), or null for ''. */
    private Handle currentHandle(String sessionId, Response issued) {
        if (issued.toString().isEmpty()) {
            return null;
        }
        return Handles.parse(readIssued(sessionId, issued.toString()).handle())
                .orElseThrow(() -> new IllegalStateException("the stored result holds no handle"));
    }

    /**
     * @param newSecretHash hash of the rotated handle's secret, or null when the handle stays
     * @param refreshExpiresIn the upstream's {@code refresh_expires_in} for a new refresh token, or null
     */
    public Uni<CommitOutcome> commitRefresh(
            String sessionId,
            String owner,
            long expectedVersion,
            String scopeKey,
            IssuedTokens issued,
            String rotatedRefreshToken,
            String newSecretHash,
            Long refreshExpiresIn) {
        String issuedEnvelope = keyRing.encrypt(writeIssued(issued), aad(sessionId, "issued"));
        String rtEnvelope =
                rotatedRefreshToken == null ? "" : keyRing.encrypt(rotatedRefreshToken, aad(sessionId, "rt"));
        return calls.guard(
                        "commit refresh",
                        durable(
                                COMMIT_REFRESH,
                                List.of(keys.session(sessionId), keys.refreshCommit(sessionId, owner)),
                                sessionId,
                                owner,
                                Long.toString(expectedVersion),
                                issuedEnvelope,
                                scopeKey,
                                rtEnvelope,
                                nullToEmpty(newSecretHash),
                                Long.toString(config.rotationGrace().toMillis()),
                                Long.toString(config.idleTimeout().toMillis()),
                                lifetimeMillis(refreshExpiresIn),
                                Long.toString(RETENTION.toMillis()),
                                Long.toString(COMMIT_MARKER.toMillis())))
                .map(r -> {
                    long outcome = r.toLong();
                    return outcome == 1
                            ? CommitOutcome.COMMITTED
                            : outcome == 0 ? CommitOutcome.VERSION_MOVED : CommitOutcome.SESSION_GONE;
                });
    }

    /**
     * Runs a script that writes a session; with {@code min-replicas-acked} above 0, WAITs for that many replicas in the
     * same round trip ({@link LuaScript#runThenWait}) and counts a shortfall, which does not fail the write: the
     * upstream has acted already, and the client needs the answer.
     */
    private Uni<Response> durable(LuaScript script, List<String> key, String sessionId, String... args) {
        int replicas = config.minReplicasAcked();
        if (replicas == 0) {
            return script.run(redis, key, args);
        }
        return script.runThenWait(
                        redis, key, replicas, config.replicationTimeout().toMillis(), args)
                .map(replies -> {
                    long acked = replies.get(1).toLong();
                    if (acked < replicas) {
                        replicationShortfalls.increment();
                        LOG.warnf(
                                "Redis replication: %d of %d replicas acknowledged the write of session %s within %s",
                                acked, replicas, sessionId, config.replicationTimeout());
                    }
                    return replies.get(0);
                });
    }

    /** See {@link #INTERRUPT}. */
    public Uni<Void> interrupt(String sessionId, String owner) {
        return calls.guard("interrupt refresh", INTERRUPT.run(redis, List.of(keys.session(sessionId)), owner))
                .replaceWithVoid();
    }

    public Uni<Void> release(String sessionId, String owner) {
        return calls.guard("release lock", RELEASE.run(redis, List.of(keys.session(sessionId)), owner))
                .replaceWithVoid();
    }

    /**
     * Atomically deletes the session and returns what ending it needs; empty when there is no such session.
     *
     * @param clientId only a session of this client, or null for any
     * @param version  only at this version (a refresh token just found dead, unless a newer one was committed), or
     *                 null for any
     * @param dpopKey  only if the session is unbound or bound to this DPoP key (null: to none); {@link #ANY_KEY}
     *                 skips the check (the broker's own decisions, not a front end's request)
     * @param secretHash only if this is the hash of the current handle's secret, or of the one retired within its
     *                 grace; null for the broker's own decisions
     */
    public Uni<Optional<Begin.Ended.Taken>> take(
            String sessionId, String clientId, Long version, String dpopKey, String secretHash) {
        return calls.guard(
                        "delete session",
                        TAKE.run(
                                redis,
                                sessionAndWebRecord(sessionId),
                                nullToEmpty(clientId),
                                version == null ? "" : version.toString(),
                                nullToEmpty(dpopKey),
                                nullToEmpty(secretHash)))
                .map(r -> r == null
                        ? Optional.<Begin.Ended.Taken>empty()
                        : Optional.of(taken(
                                sessionId,
                                r.get(0),
                                r.get(1).toString(),
                                r.get(2).toString())));
    }

    /** The keys of the scripts that may end a session: its record and its web-mode record, both in its slot. */
    private List<String> sessionAndWebRecord(String sessionId) {
        return List.of(keys.session(sessionId), keys.webSession(sessionId));
    }

    /**
     * Drops an ended session from the indexes, fire and forget: the index keys live in other Cluster slots than the
     * session, so they cannot join the script that ended it, and nobody waits for them, since lookups skip ids whose
     * session is gone. A failure (or no answer within {@code quarkus.redis.timeout}) only counts in
     * {@code broker_redis_errors_total}.
     */
    public void unindex(String sessionId, String subjectTag, String sidTag) {
        if (!subjectTag.isEmpty()) {
            forget(redis.set(String.class).srem(keys.subjectIndex(subjectTag), sessionId), sessionId);
        }
        if (!sidTag.isEmpty()) {
            forget(redis.set(String.class).srem(keys.upstreamSessionIndex(sidTag), sessionId), sessionId);
        }
    }

    private void forget(Uni<Integer> srem, String sessionId) {
        calls.guard("drop a session from an index", srem)
                .subscribe()
                .with(removed -> {}, e -> LOG.debugf("Could not drop session %s: %s", sessionId, e.getMessage()));
    }

    /** A session deleted by {@link #takeOwned}, with the client id it belonged to. */
    public record Owned(String clientId, Begin.Ended.Taken taken) {}

    /**
     * Like {@link #take} for the broker's own decisions (back-channel logout, admin, per-user cap): deletes the
     * session whatever DPoP key it is bound to, and says whose it was.
     *
     * @param clientId only a session of this client, or null for any
     */
    public Optional<Owned> takeOwned(String sessionId, String clientId) {
        Response r = blocking(calls.guard(
                "delete session",
                TAKE.run(redis, sessionAndWebRecord(sessionId), nullToEmpty(clientId), "", ANY_KEY, "")));
        if (r == null) {
            return Optional.empty();
        }
        return Optional.of(new Owned(
                r.get(3).toString(),
                taken(sessionId, r.get(0), r.get(1).toString(), r.get(2).toString())));
    }

    /**
     * Ids of the sessions of one user ({@code sub}), under every key's index tag; may name sessions that have ended
     * since (callers skip those). One SMEMBERS per configured encryption key, no SCAN; then, per id, whether its record
     * still exists: an id whose record is gone (a session that idled out or reached its lifetime unseen, and whose
     * record Redis expired an hour later) is dropped from the index, so an index holds no more than the user's
     * sessions of the last {@code max-lifetime} plus an hour.
     */
    public java.util.Set<String> sessionsOfSubject(String subject) {
        return indexed(
                keyRing.indexTags(subject).stream().map(keys::subjectIndex).toList());
    }

    /** Ids of the sessions of one upstream session ({@code sid}); like {@link #sessionsOfSubject}, pruned alike. */
    public java.util.Set<String> sessionsOfUpstreamSession(String sid) {
        return indexed(
                keyRing.indexTags(sid).stream().map(keys::upstreamSessionIndex).toList());
    }

    /**
     * What an administrator may see of a session: no token, no handle, no hash of either. Times are Redis' clock, epoch
     * millis; {@code lastRefresh} is 0 before the first refresh.
     */
    public record SessionInfo(
            String sessionId,
            String clientId,
            long created,
            long lastRefresh,
            long expires,
            String scope,
            boolean dpopBound) {}

    /** The session's metadata; empty when there is no such session (or it is past its deadline). */
    public Optional<SessionInfo> info(String sessionId) {
        java.util.Map<String, String> f = blocking(calls.guard(
                "read session",
                redis.hash(String.class)
                        .hmget(keys.session(sessionId), "client", "created", "refreshed", "expires", "scope", "jkt")));
        String client = f.get("client");
        if (client == null || f.get("expires") == null) {
            return Optional.empty();
        }
        long expires = Long.parseLong(f.get("expires"));
        if (expires <= System.currentTimeMillis()) {
            // Unusable already; the next refresh attempt ends it for good.
            return Optional.empty();
        }
        return Optional.of(new SessionInfo(
                sessionId,
                client,
                Long.parseLong(f.get("created")),
                Long.parseLong(f.getOrDefault("refreshed", "0")),
                expires,
                nullToEmpty(f.get("scope")),
                !nullToEmpty(f.get("jkt")).isEmpty()));
    }

    private java.util.Set<String> indexed(List<String> indexKeys) {
        java.util.Set<String> ids = new java.util.LinkedHashSet<>();
        for (String key : indexKeys) {
            for (String id : blocking(
                    calls.guard("read session index", redis.set(String.class).smembers(key)))) {
                if (blocking(calls.guard("read session index", redis.key().exists(keys.session(id))))) {
                    ids.add(id);
                } else {
                    // A past-deadline record stays listed until Redis expires it, so that a logout still ends it.
                    forget(redis.set(String.class).srem(key, id), id);
                }
            }
        }
        return ids;
    }

    private Begin.Ended.Taken taken(String sessionId, Response rtEnvelope, String subjectTag, String sidTag) {
        Optional<String> rt = Optional.empty();
        if (rtEnvelope != null) {
            try {
                rt = Optional.of(keyRing.decrypt(rtEnvelope.toString(), aad(sessionId, "rt")));
            } catch (IllegalStateException e) {
                LOG.warnf("Deleted session %s whose refresh token is unreadable: %s", sessionId, e.getMessage());
            }
        }
        return new Begin.Ended.Taken(rt, subjectTag, sidTag);
    }

    private static String aad(String sessionId, String field) {
        return "session:" + sessionId + ":" + field;
    }

    /**
     * Keycloak sends 0 for offline tokens, which do not expire by time: treated as unknown, as is anything beyond
     * the session's own absolute lifetime (which caps the session anyway).
     */
    private String lifetimeMillis(Long seconds) {
        return seconds == null || seconds <= 0 || seconds > config.maxLifetime().toSeconds()
                ? ""
                : Long.toString(seconds * 1000);
    }

    private String writeIssued(IssuedTokens issued) {
        try {
            return json.writeValueAsString(issued);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise issued tokens", e);
        }
    }

    private IssuedTokens readIssued(String sessionId, String envelope) {
        try {
            return json.readValue(keyRing.decrypt(envelope, aad(sessionId, "issued")), IssuedTokens.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored issued tokens are not JSON");
        }
    }

    /** For the broker's own, rarer decisions (logout, admin), which run on worker threads, never the event loop. */
    private static <T> T blocking(Uni<T> call) {
        return call.await().indefinitely();
    }

    /**
     * Bounds the call by {@code quarkus.redis.timeout} (the reactive client has no timeout of its own) and turns
     * every failure into {@link BrokerException.StoreUnavailable}.
     */
    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
