package dev.tokenbroker.redis;

import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import dev.tokenbroker.config.BrokerConfig;

/**
 * Every Redis key name the broker uses, in one place (tests use it too). Braces are Redis Cluster hash tags: each
 * key below lives in the slot of its tag, and every Lua script touches one key only, or keys of one tag.
 */
@Singleton
public class RedisKeys {

    private final String prefix;

    @Inject
    RedisKeys(BrokerConfig config) {
        this(config.session().keyPrefix());
    }

    public RedisKeys(String prefix) {
        this.prefix = prefix;
    }

    /** One hash per session: metadata, encrypted refresh token, handle secrets, refresh lock. */
    public String session(String sessionId) {
        return prefix + "session:{" + sessionId + "}";
    }

    /**
     * A session's last refresh result, encrypted, in its slot, while a retry, a caller that waited for that refresh or
     * the reuse window may still be answered with it.
     */
    public String lastAnswer(String sessionId) {
        return session(sessionId) + ":answer";
    }

    /**
     * Marks that the refresh of one lock owner committed, in the session's slot, so that a retry of that commit after a
     * lost reply recognises it however far the session has moved on since.
     */
    public String refreshCommit(String sessionId, String owner) {
        return session(sessionId) + ":commit:" + owner;
    }

    /** Set of the session ids of one user, by index tag of {@code sub}. */
    public String subjectIndex(String subjectTag) {
        return prefix + "sub:{" + subjectTag + "}";
    }

    /** Set of the session ids of one upstream session, by index tag of {@code sid}. */
    public String upstreamSessionIndex(String sidTag) {
        return prefix + "sid:{" + sidTag + "}";
    }

    /** Marks a DPoP proof as used, by a digest of its key thumbprint and {@code jti}, until it is too old anyway. */
    public String dpopProof(String digest) {
        return prefix + "dpop:{" + digest + "}";
    }

    /** Marks a back-channel logout token as used, by a digest of its issuer and {@code jti}, while it is acceptable. */
    public String logoutToken(String digest) {
        return prefix + "bclt:{" + digest + "}";
    }

    /** The session a code exchange opened, by a digest of client, code and verifier, while the code could be replayed. */
    public String redeemedCode(String digest) {
        return prefix + "code:{" + digest + "}";
    }

    /** Sorted set of one client's sessions that have not ended, scored by absolute deadline: the active-sessions gauge. */
    public String activeSessions(String clientId) {
        return prefix + "active:{" + clientId + "}";
    }

    /** The stream of failed upstream revocations waiting for a retry (one key, one slot). */
    public String revocationOutbox() {
        return prefix + "outbox:{revocations}";
    }

    /**
     * One authorization request the broker started (state, nonce, PKCE verifier), by a digest of its {@code state};
     * taken once by the callback or the code exchange.
     */
    public String authorizationTransaction(String stateDigest) {
        return prefix + "txn:{" + stateDigest + "}";
    }

    /**
     * What a web-mode session adds to its session (ID token, user claims, current access token), in the same Cluster
     * slot as {@link #session(String)}; deleted whenever the session ends.
     */
    public String webSession(String sessionId) {
        return prefix + "web:{" + sessionId + "}";
    }

    /**
     * One rate-limit bucket of a client: {@code kind} {@code client} (no {@code id}) or {@code address} (the source
     * address). A client's buckets share its hash tag, so one script checks them together in one Cluster slot.
     */
    public String rateBucket(String clientName, String kind, String id) {
        return prefix + "rate:{" + clientName + "}:" + kind + (id == null ? "" : ":" + id);
    }

    /** Pattern matching every session key; for tests and tooling, never on a request path. */
    public String allSessions() {
        return prefix + "session:*";
    }
}
