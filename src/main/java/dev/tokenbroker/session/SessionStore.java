package dev.tokenbroker.session;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.crypto.Handles.Handle;
import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.redis.LuaScript;
import dev.tokenbroker.redis.RedisCalls;
import dev.tokenbroker.redis.RedisKeys;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.redis.client.Response;

/**
 * Sessions in Redis: one hash per session at {@link RedisKeys#session(String)} holding its metadata, the
 * encrypted upstream refresh token, the hashes of its current and just-retired handle secrets, its deadlines and its
 * refresh lock; beside it, its last refresh result ({@link RedisKeys#lastAnswer(String)}) for as long as it may
 * answer again. Every decision about time (reuse window, rotation grace, lock expiry,
 * idle and absolute lifetime) is made inside a script by Redis' clock, so replicas with skewed clocks agree.
 * An upstream-bound refresh costs two round trips: {@link #beginRefresh} and {@link #commitRefresh}.
 * Token material is stored only as {@link KeyRing} envelopes whose associated data names the session and field,
 * and for the upstream refresh token its client's upstream ({@link Clients#upstreamBinding}).
 * Every Redis failure becomes {@link BrokerException.StoreUnavailable}.
 */
@Singleton
public class SessionStore {

    private final Clients clients;

    private static final Logger LOG = Logger.getLogger(SessionStore.class);

    /** {@code redis/session-create.lua} */
    private static final LuaScript CREATE = LuaScript.named("session-create");

    /** {@code redis/session-begin-refresh.lua} */
    private static final LuaScript BEGIN_REFRESH = LuaScript.named("session-begin-refresh");

    /** {@code redis/session-commit-refresh.lua} */
    private static final LuaScript COMMIT_REFRESH = LuaScript.named("session-commit-refresh");

    /** {@code redis/session-interrupt-refresh.lua} */
    private static final LuaScript INTERRUPT = LuaScript.named("session-interrupt-refresh");

    /** {@code redis/session-release-lock.lua} */
    private static final LuaScript RELEASE = LuaScript.named("session-release-lock");

    /** {@code redis/session-take.lua} */
    private static final LuaScript TAKE = LuaScript.named("session-take");

    /** {@code redis/index-add.lua} */
    private static final LuaScript INDEX = LuaScript.named("index-add");

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

    /**
     * How long a refresh result outlives both the rotation grace and the reuse window, the times it may answer again:
     * a caller that waited for that refresh asks again {@code LOCK_POLL} (20 ms) after it, and this leaves room for a
     * stalled event loop.
     */
    static final Duration ANSWER_MARGIN = Duration.ofSeconds(10);

    /** For {@link #take}: end the session whichever DPoP key it is bound to. */
    public static final String ANY_KEY = "any";

    public enum CommitOutcome {
        COMMITTED,
        VERSION_MOVED,
        SESSION_GONE;

        /** {@code redis/session-commit-refresh.lua}'s reply: 1, 0 or -1. */
        static CommitOutcome of(long reply) {
            return reply == 1 ? COMMITTED : reply == 0 ? VERSION_MOVED : SESSION_GONE;
        }
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
    private final Duration answerLifetime;

    SessionStore(
            ReactiveRedisDataSource redis,
            KeyRing keyRing,
            ObjectMapper json,
            RedisKeys keys,
            BrokerConfig config,
            Clients clients,
            MeterRegistry registry,
            RedisCalls calls) {
        this.redis = redis;
        this.clients = clients;
        this.calls = calls;
        this.keyRing = keyRing;
        this.json = json;
        this.keys = keys;
        this.config = config.session();
        this.answerLifetime = max(this.config.rotationGrace(), this.config.refreshReuseWindow())
                .plus(ANSWER_MARGIN);
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
        String rt = keyRing.encrypt(s.refreshToken(), refreshTokenAad(s.sessionId(), s.clientId()));
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
                                new BeginRefresh(
                                        sessionKeys(sessionId),
                                        secretHash,
                                        clientId,
                                        scopeKey,
                                        seenVersion,
                                        owner,
                                        lockTtl,
                                        config.refreshReuseWindow(),
                                        dpopKey)))
                .map(r -> begin(sessionId, clientId, r));
    }

    /** {@code redis/session-begin-refresh.lua}'s KEYS and ARGV. */
    private record BeginRefresh(
            List<String> keys,
            String secretHash,
            String clientId,
            String scopeKey,
            Long seenVersion,
            String owner,
            Duration lockTtl,
            Duration reuseWindow,
            String dpopKey)
            implements LuaScript.Call {
        @Override
        public List<String> argv() {
            return List.of(
                    secretHash,
                    clientId,
                    scopeKey,
                    seenVersion == null ? "" : seenVersion.toString(),
                    owner,
                    Long.toString(lockTtl.toMillis()),
                    Long.toString(reuseWindow.toMillis()),
                    nullToEmpty(dpopKey));
        }

        @Override
        public String toString() {
            return "BeginRefresh[" + keys + "]";
        }
    }

    private Begin begin(String sessionId, String clientId, Response r) {
        try {
            return switch (r.get(0).toString()) {
                case "gone" -> new Begin.Gone();
                case "ended" ->
                    new Begin.Ended(
                            EndReason.of(r.get(1).toString()),
                            taken(
                                    sessionId,
                                    clientId,
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
                            keyRing.decrypt(r.get(3).toString(), refreshTokenAad(sessionId, clientId)),
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
            String clientId,
            String owner,
            long expectedVersion,
            String scopeKey,
            IssuedTokens issued,
            String rotatedRefreshToken,
            String newSecretHash,
            Long refreshExpiresIn) {
        String issuedEnvelope = keyRing.encrypt(writeIssued(issued), aad(sessionId, "issued"));
        String rtEnvelope = rotatedRefreshToken == null
                ? ""
                : keyRing.encrypt(rotatedRefreshToken, refreshTokenAad(sessionId, clientId));
        CommitRefresh call = new CommitRefresh(
                List.of(keys.session(sessionId), keys.refreshCommit(sessionId, owner), keys.lastAnswer(sessionId)),
                owner,
                expectedVersion,
                issuedEnvelope,
                scopeKey,
                rtEnvelope,
                nullToEmpty(newSecretHash),
                config.rotationGrace(),
                config.idleTimeout(),
                lifetimeMillis(refreshExpiresIn),
                RETENTION,
                COMMIT_MARKER,
                answerLifetime,
                config.keepAnswerInRecord());
        return calls.guard("commit refresh", durable(COMMIT_REFRESH, call, sessionId))
                .map(r -> CommitOutcome.of(r.toLong()));
    }

    /** {@code redis/session-commit-refresh.lua}'s KEYS and ARGV. */
    private record CommitRefresh(
            List<String> keys,
            String owner,
            long expectedVersion,
            String issuedEnvelope,
            String scopeKey,
            String refreshTokenEnvelope,
            String newSecretHash,
            Duration rotationGrace,
            Duration idleTimeout,
            String refreshTokenLifetimeMillis,
            Duration retention,
            Duration markerLifetime,
            Duration answerLifetime,
            boolean keepAnswerInRecord)
            implements LuaScript.Call {
        @Override
        public List<String> argv() {
            return List.of(
                    owner,
                    Long.toString(expectedVersion),
                    issuedEnvelope,
                    scopeKey,
                    refreshTokenEnvelope,
                    newSecretHash,
                    Long.toString(rotationGrace.toMillis()),
                    Long.toString(idleTimeout.toMillis()),
                    refreshTokenLifetimeMillis,
                    Long.toString(retention.toMillis()),
                    Long.toString(markerLifetime.toMillis()),
                    Long.toString(answerLifetime.toMillis()),
                    keepAnswerInRecord ? "1" : "");
        }

        @Override
        public String toString() {
            return "CommitRefresh[version=" + expectedVersion + "]";
        }
    }

    /**
     * Runs a script that writes a session; with {@code min-replicas-acked} above 0, WAITs for that many replicas in the
     * same round trip ({@link LuaScript#runThenWait}) and counts a shortfall, which does not fail the write: the
     * upstream has acted already, and the client needs the answer.
     */
    private Uni<Response> durable(LuaScript script, LuaScript.Call call, String sessionId) {
        return durable(script, call.keys(), sessionId, call.argv().toArray(String[]::new));
    }

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

    /** The refresh's upstream call may have been processed: {@code redis/session-interrupt-refresh.lua}. */
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
                        TAKE.run(redis, new Take(sessionKeys(sessionId), clientId, version, dpopKey, secretHash)))
                .map(r -> r == null
                        ? Optional.<Begin.Ended.Taken>empty()
                        : Optional.of(taken(
                                sessionId,
                                r.get(3).toString(),
                                r.get(0),
                                r.get(1).toString(),
                                r.get(2).toString())));
    }

    /** {@code redis/session-take.lua}'s KEYS and ARGV; a null field checks nothing. */
    private record Take(List<String> keys, String clientId, Long version, String dpopKey, String secretHash)
            implements LuaScript.Call {
        @Override
        public List<String> argv() {
            return List.of(
                    nullToEmpty(clientId),
                    version == null ? "" : version.toString(),
                    nullToEmpty(dpopKey),
                    nullToEmpty(secretHash));
        }

        @Override
        public String toString() {
            return "Take[" + keys + "]";
        }
    }

    /** The keys of the scripts that may end a session: its record, its web-mode record and its last answer. */
    private List<String> sessionKeys(String sessionId) {
        return List.of(keys.session(sessionId), keys.webSession(sessionId), keys.lastAnswer(sessionId));
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
    public Uni<Optional<Owned>> takeOwned(String sessionId, String clientId) {
        return calls.guard(
                        "delete session",
                        TAKE.run(redis, new Take(sessionKeys(sessionId), clientId, null, ANY_KEY, null)))
                .map(r -> r == null
                        ? Optional.empty()
                        : Optional.of(new Owned(
                                r.get(3).toString(),
                                taken(
                                        sessionId,
                                        r.get(3).toString(),
                                        r.get(0),
                                        r.get(1).toString(),
                                        r.get(2).toString()))));
    }

    /**
     * Ids of the sessions of one user ({@code sub}), under every key's index tag; may name sessions that have ended
     * since (callers skip those). One SMEMBERS per configured encryption key, no SCAN; then, per id, whether its record
     * still exists: an id whose record is gone (a session that idled out or reached its lifetime unseen, and whose
     * record Redis expired an hour later) is dropped from the index, so an index holds no more than the user's
     * sessions of the last {@code max-lifetime} plus an hour.
     */
    public Uni<java.util.Set<String>> sessionsOfSubject(String subject) {
        return indexed(
                keyRing.indexTags(subject).stream().map(keys::subjectIndex).toList());
    }

    /** Ids of the sessions of one upstream session ({@code sid}); like {@link #sessionsOfSubject}, pruned alike. */
    public Uni<java.util.Set<String>> sessionsOfUpstreamSession(String sid) {
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
    public Uni<Optional<SessionInfo>> info(String sessionId) {
        return calls.guard(
                        "read session",
                        redis.hash(String.class)
                                .hmget(
                                        keys.session(sessionId),
                                        "client",
                                        "created",
                                        "refreshed",
                                        "expires",
                                        "scope",
                                        "jkt"))
                .map(f -> info(sessionId, f));
    }

    private static Optional<SessionInfo> info(String sessionId, java.util.Map<String, String> f) {
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

    private Uni<java.util.Set<String>> indexed(List<String> indexKeys) {
        return Multi.createFrom()
                .iterable(indexKeys)
                .onItem()
                .transformToMultiAndConcatenate(key -> calls.guard(
                                "read session index", redis.set(String.class).smembers(key))
                        .onItem()
                        .transformToMulti(ids -> Multi.createFrom().iterable(ids))
                        .onItem()
                        .transformToUniAndConcatenate(id -> calls.guard(
                                        "read session index", redis.key().exists(keys.session(id)))
                                .map(exists -> {
                                    if (!exists) {
                                        // A past-deadline record stays listed until Redis expires it, so that a
                                        // logout still ends it.
                                        forget(redis.set(String.class).srem(key, id), id);
                                    }
                                    return exists ? id : "";
                                })))
                .filter(id -> !id.isEmpty())
                .collect()
                .in(java.util.LinkedHashSet::new, java.util.Set::add);
    }

    private Begin.Ended.Taken taken(
            String sessionId, String clientId, Response rtEnvelope, String subjectTag, String sidTag) {
        Optional<String> rt = Optional.empty();
        if (rtEnvelope != null) {
            try {
                rt = Optional.of(keyRing.decrypt(rtEnvelope.toString(), refreshTokenAad(sessionId, clientId)));
            } catch (IllegalStateException e) {
                LOG.warnf("Deleted session %s whose refresh token is unreadable: %s", sessionId, e.getMessage());
            }
        }
        return new Begin.Ended.Taken(rt, subjectTag, sidTag);
    }

    private static String aad(String sessionId, String field) {
        return "session:" + sessionId + ":" + field;
    }

    private String refreshTokenAad(String sessionId, String clientId) {
        return aad(sessionId, "rt") + clients.upstreamBinding(clientId);
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

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
