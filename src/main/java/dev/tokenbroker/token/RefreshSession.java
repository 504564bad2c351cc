package dev.tokenbroker.token;

import java.time.Duration;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.crypto.Handles.Handle;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.session.IssuedTokens;
import dev.tokenbroker.session.SessionStore;
import dev.tokenbroker.session.SessionStore.Begin;
import dev.tokenbroker.session.SessionStore.CommitOutcome;
import dev.tokenbroker.upstream.UpstreamClient;
import dev.tokenbroker.upstream.UpstreamTokenResponse;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;

/**
 * Refreshes a session with at most one upstream call in flight per session, across all replicas, and rotates its
 * handle.
 * <ol>
 * <li>In this process, concurrent refreshes with the same handle (and scope and DPoP key) share one execution, which
 * is {@link SessionWork}: it runs to its end (upstream call, commit, unlock) even when every caller has gone away, so a
 * retry with the same handle finds the committed result within the grace.</li>
 * <li>That execution asks Redis, in one script, to check the handle and decide: a retired handle within its grace,
 * or a result that is still fresh, is answered from the session; a retired handle after its grace, or a session past
 * a deadline, ends the session; otherwise the caller takes the session's refresh lock (or finds it taken, waits, and
 * asks again). The lock outlives {@link UpstreamClient#callBudget()}, the hard limit of an upstream call, plus the
 * commit's retries. A lock that expired without being released leaves the refresh token in doubt (the refresh that
 * held it died, or its upstream call failed after it may have been processed): the session ends, and its token is
 * revoked, rather than be presented again, unless its upstream has been seen to reuse refresh tokens.</li>
 * <li>The lock holder calls the upstream, then commits in one script: a version compare-and-set that stores the new
 * result and refresh token, moves the handle's secret to "retired, within grace" and installs the new one, slides
 * the idle deadline and releases the lock. Who waited finds the new result through the retired handle's grace, or
 * the version.</li>
 * </ol>
 * One-time refresh tokens are therefore never presented twice, which upstreams treat as token theft; and two Redis
 * round trips serve an upstream-bound refresh, one a refresh answered from the session.
 */
@Singleton
public class RefreshSession {

    private static final Logger LOG = Logger.getLogger(RefreshSession.class);
    private static final Duration LOCK_POLL = Duration.ofMillis(20);
    /**
     * How long a commit is retried after Redis failures: long enough for a Sentinel or Cluster failover (failure
     * detection plus election, a few seconds when the detection time is set to a second or two), short enough that
     * the lock (the call budget plus 15 s) outlives it and one last attempt bounded by {@code quarkus.redis.timeout}.
     */
    public static final Duration COMMIT_BUDGET = Duration.ofSeconds(10);

    private static final Duration COMMIT_MAX_BACKOFF = Duration.ofSeconds(1);

    /**
     * A refresh, its fields already checked for syntax. {@link #toString()} is redacted.
     *
     * @param dpopKey thumbprint of the key of the request's verified DPoP proof, or null
     */
    public record Request(RegisteredClient client, String handle, RequestedScope scope, String dpopKey) {
        @Override
        public String toString() {
            return "RefreshSession.Request[client=" + client.name() + ", scope=" + scope + "]";
        }
    }

    private final SessionStore store;
    private final UpstreamClient upstream;
    private final EndSession endSession;
    private final Duration lockTtl;
    /** How long the caller that works for this process waits for another replica's lock. */
    private final Duration lockWaitBudget;
    /** How long callers that joined it wait: its wait for the lock plus its own locked refresh. */
    private final Duration joinWaitBudget;

    private final SingleFlight<TokenResult> inProcess;
    private final Counter lockWaits;
    private final Counter reused;

    RefreshSession(
            SessionStore store,
            UpstreamClient upstream,
            EndSession endSession,
            SessionWork work,
            BrokerConfig config,
            MeterRegistry registry) {
        this.store = store;
        this.upstream = upstream;
        this.endSession = endSession;
        // The upstream call (bounded), then up to three commit attempts of at most the Redis timeout each.
        this.lockTtl = upstream.callBudget().plusSeconds(15);
        this.lockWaitBudget = lockTtl.plusSeconds(2);
        this.joinWaitBudget = lockWaitBudget.plus(lockTtl).plus(upstream.callBudget());
        Counter coalesced = Counter.builder("broker.refresh.coalesced")
                .description("Refreshes that joined another in-flight refresh of the same session in this process")
                .register(registry);
        this.inProcess = new SingleFlight<>(work, coalesced::increment);
        this.lockWaits = Counter.builder("broker.refresh.lock.waits")
                .description("Refreshes that waited for another replica's refresh of the same session")
                .register(registry);
        this.reused = Counter.builder("broker.refresh.reused")
                .description("Refreshes answered with a result another refresh just produced, without an upstream call")
                .register(registry);
    }

    /** Fails with a {@link BrokerException}. Runs without blocking: every wait is a Redis or upstream answer or a timer. */
    public Uni<TokenResult> refresh(Request request) {
        Handle handle = Handles.parse(request.handle()).orElse(null);
        if (handle == null) {
            return Uni.createFrom().failure(invalidHandle());
        }
        String key = handle.sessionId() + " " + handle.secretHash() + " "
                + request.scope().key() + " " + request.dpopKey();
        return inProcess.run(
                key,
                joinWaitBudget,
                () -> attempt(
                        request,
                        handle,
                        Handles.randomId(),
                        System.currentTimeMillis() + lockWaitBudget.toMillis(),
                        null));
    }

    /** One round of step 2; another round follows a wait for another refresh's lock. */
    private Uni<TokenResult> attempt(Request request, Handle handle, String owner, long deadline, Long seenVersion) {
        RegisteredClient client = request.client();
        String sessionId = handle.sessionId();
        return store.beginRefresh(
                        sessionId,
                        handle.secretHash(),
                        client.clientId(),
                        request.scope().key(),
                        seenVersion,
                        owner,
                        lockTtl,
                        request.dpopKey())
                .chain(begin -> {
                    if (begin instanceof Begin.Locked locked) {
                        return refreshUnderLock(request, handle, locked, owner);
                    } else if (begin instanceof Begin.Cached cached) {
                        reused.increment();
                        return Uni.createFrom().item(result(cached.issued(), cached.ageMillis()));
                    } else if (begin instanceof Begin.Busy busy) {
                        if (System.currentTimeMillis() > deadline) {
                            return Uni.createFrom()
                                    .failure(new BrokerException.RefreshContended(
                                            "refresh lock held beyond " + lockWaitBudget));
                        }
                        if (seenVersion == null) {
                            lockWaits.increment();
                        }
                        Long seen = seenVersion == null ? busy.version() : seenVersion;
                        Handle askWith = busy.currentHandle() != null ? busy.currentHandle() : handle;
                        return Uni.createFrom()
                                .voidItem()
                                .onItem()
                                .delayIt()
                                .by(LOCK_POLL)
                                .chain(() -> attempt(request, askWith, owner, deadline, seen));
                    } else if (begin instanceof Begin.Ended ended) {
                        return endSession
                                .endedByRefresh(sessionId, client, ended.reason(), ended.taken())
                                .chain(() -> Uni.createFrom().failure(invalidHandle()));
                    } else if (begin instanceof Begin.WrongDpopKey) {
                        Audit.dpopRefused(client.name(), "key_mismatch");
                        // RFC 9449 §5: a bound refresh token presented without proof of its key is an invalid grant.
                        // The description is the generic one: it must not tell a thief whether the handle is current.
                        return Uni.createFrom().failure(invalidHandle());
                    } else if (begin instanceof Begin.ScopeExceeded) {
                        return Uni.createFrom()
                                .failure(new BrokerException.InvalidScope(
                                        "The requested scope exceeds the scope granted to this session"));
                    }
                    return Uni.createFrom().failure(invalidHandle());
                });
    }

    private Uni<TokenResult> refreshUnderLock(Request request, Handle handle, Begin.Locked session, String owner) {
        RegisteredClient client = request.client();
        String sessionId = handle.sessionId();
        RequestedScope scope;
        try {
            scope = request.scope().within(session.scope());
        } catch (BrokerException e) {
            return quietly("release", store.release(sessionId, owner))
                    .chain(() -> Uni.createFrom().failure(e));
        }
        return upstream.refresh(
                        client, session.refreshToken(), scope.parameter().orElse(null))
                .onFailure(BrokerException.InvalidGrant.class)
                .call(() ->
                        // The upstream refresh token is dead (expired, revoked, reused): so is the session.
                        endSession.upstreamRejected(sessionId, client, session.version()))
                // Only a request that certainly never left releases the lock. One that may have been processed
                // upstream may have spent the refresh token: its lock expires at once but stays, and the next refresh
                // ends the session rather than present that token again, unless the upstream reuses refresh tokens.
                .onFailure(e -> e instanceof BrokerException b && !(b instanceof BrokerException.InvalidGrant))
                .call(e -> ((BrokerException) e).mayHaveReachedUpstream()
                        ? quietly("interrupt", store.interrupt(sessionId, owner))
                        : quietly("release", store.release(sessionId, owner)))
                .chain(answer -> commitRefresh(request, handle, session, owner, scope, answer));
    }

    private Uni<TokenResult> commitRefresh(
            Request request,
            Handle handle,
            Begin.Locked session,
            String owner,
            RequestedScope scope,
            UpstreamTokenResponse answer) {
        RegisteredClient client = request.client();
        // RFC 6749 §5.1: an omitted scope is the requested one.
        String granted = answer.scope() != null ? answer.scope() : scope.isWhole() ? session.scope() : scope.key();
        // A handle retired within its grace that asked for another scope gets the session's current handle back.
        boolean rotate = session.currentHandle() == null && client.rotateHandles();
        Handle next = session.currentHandle() != null ? session.currentHandle() : rotate ? handle.rotated() : handle;
        IssuedTokens issued = new IssuedTokens(
                answer.accessToken(),
                ExchangeCode.tokenType(answer.tokenType()),
                answer.expiresIn(),
                ExchangeCode.emptyToNull(granted),
                answer.idToken(),
                next.value());
        String rotated = answer.refreshToken() == null
                        || answer.refreshToken().isEmpty()
                        || answer.refreshToken().equals(session.refreshToken())
                ? null
                : answer.refreshToken();
        return commit(
                        handle.sessionId(),
                        client.clientId(),
                        owner,
                        session.version(),
                        request.scope().key(),
                        issued,
                        rotated,
                        rotate ? next.secretHash() : null,
                        rotated == null ? null : answer.refreshExpiresIn(),
                        System.nanoTime() + COMMIT_BUDGET.toNanos(),
                        Duration.ofMillis(100))
                // The session still holds the refresh token just spent; the new one must not live on unrecorded.
                .onFailure()
                .call(() -> rotated == null ? Uni.createFrom().voidItem() : endSession.revokeOrphan(client, rotated))
                .chain(outcome -> {
                    if (outcome == CommitOutcome.COMMITTED) {
                        if (rotate) {
                            Audit.handleRotated(handle.sessionId(), client.name());
                        }
                        return Uni.createFrom().item(result(issued, 0));
                    }
                    // The session is gone (revoked meanwhile) or holds another refresh token now: ours is an orphan.
                    Uni<Void> cleanup =
                            rotated == null ? Uni.createFrom().voidItem() : endSession.revokeOrphan(client, rotated);
                    if (outcome == CommitOutcome.SESSION_GONE) {
                        return cleanup.chain(() -> Uni.createFrom().failure(invalidHandle()));
                    }
                    // Cannot happen while upstream calls end within the lock's lifetime.
                    LOG.error("A refresh committed by another process overtook this one while it held the lock");
                    return cleanup.chain(() -> Uni.createFrom()
                            .failure(new BrokerException.RefreshContended(
                                    "session version moved under the refresh lock")));
                });
    }

    /**
     * Commits, retrying with backoff (100 ms doubling to 1 s) for {@link #COMMIT_BUDGET}: the upstream has already
     * answered, and with one-time refresh tokens a lost commit would leave the session with a dead refresh token. A
     * Redis failover within the budget therefore costs the caller latency, not the session. The lock's lifetime covers
     * these retries; the commit script is idempotent, so a retry after a lost reply is safe.
     */
    private Uni<CommitOutcome> commit(
            String sessionId,
            String clientId,
            String owner,
            long version,
            String scopeKey,
            IssuedTokens issued,
            String rotated,
            String newSecretHash,
            Long refreshExpiresIn,
            long deadline,
            Duration backoff) {
        return store.commitRefresh(
                        sessionId, clientId, owner, version, scopeKey, issued, rotated, newSecretHash, refreshExpiresIn)
                .onFailure(BrokerException.StoreUnavailable.class)
                .recoverWithUni(e -> System.nanoTime() + backoff.toNanos() > deadline
                        ? Uni.createFrom().failure(e)
                        : Uni.createFrom()
                                .voidItem()
                                .onItem()
                                .delayIt()
                                .by(backoff)
                                .chain(() -> commit(
                                        sessionId,
                                        clientId,
                                        owner,
                                        version,
                                        scopeKey,
                                        issued,
                                        rotated,
                                        newSecretHash,
                                        refreshExpiresIn,
                                        deadline,
                                        min(backoff.multipliedBy(2), COMMIT_MAX_BACKOFF))));
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static TokenResult result(IssuedTokens issued, long ageMillis) {
        Long expiresIn =
                issued.expiresIn() == null ? null : Math.max(0, issued.expiresIn() - Math.max(0, ageMillis) / 1000);
        return new TokenResult(
                issued.accessToken(), issued.tokenType(), expiresIn, issued.scope(), issued.idToken(), issued.handle());
    }

    /** Releasing or interrupting the lock: if Redis fails, the lock expires by itself; the original outcome matters more. */
    private static Uni<Void> quietly(String what, Uni<Void> lockChange) {
        return lockChange.onFailure().recoverWithItem(e -> {
            LOG.debugf("Could not %s a refresh lock: %s", what, e.getClass().getSimpleName());
            return null;
        });
    }

    private static BrokerException.InvalidGrant invalidHandle() {
        return new BrokerException.InvalidGrant("The refresh token is invalid, expired or revoked");
    }
}
