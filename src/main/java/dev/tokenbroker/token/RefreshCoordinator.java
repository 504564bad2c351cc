package dev.tokenbroker.token;

import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.session.IssuedTokens;
import dev.tokenbroker.session.Session;
import dev.tokenbroker.session.SessionStore;
import dev.tokenbroker.upstream.UpstreamClient;
import dev.tokenbroker.upstream.UpstreamTokenResponse;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Refreshes a session with at most one upstream call in flight per session, across all replicas.
 * <ol>
 * <li>In this process, concurrent refreshes of one session (and scope) share one {@link CompletableFuture}.</li>
 * <li>Across processes, the one caller left per process takes the session's Redis lock (SET NX PX, random owner).
 * The lock lives longer than {@link UpstreamClient#callBudget()}, the hard limit of an upstream call, so it never
 * expires under a live holder. The holder re-reads the session, calls the upstream, and commits the result with
 * a Lua version compare-and-set that also releases the lock.</li>
 * <li>Whoever found the lock taken waits for it to go and re-reads: a session whose version moved on since its
 * first read carries the result just committed, which it returns without an upstream call. A refresh within
 * the reuse window after a completed one gets that result too.</li>
 * </ol>
 * One-time refresh tokens are therefore never presented twice, which upstreams treat as token theft.
 */
@Singleton
public class RefreshCoordinator {

    private static final Logger LOG = Logger.getLogger(RefreshCoordinator.class);
    private static final long LOCK_POLL_MILLIS = 20;
    private static final int COMMIT_ATTEMPTS = 3;

    private final SessionStore store;
    private final UpstreamClient upstream;
    private final TokenService tokens;
    private final Duration reuseWindow;
    private final Duration lockTtl;
    /** How long the caller that works for this process waits for another replica's lock. */
    private final Duration lockWaitBudget;
    /** How long callers that joined it wait: its wait for the lock plus its own locked refresh. */
    private final Duration joinWaitBudget;
    private final ConcurrentHashMap<String, CompletableFuture<IssuedTokens>> inFlight = new ConcurrentHashMap<>();
    private final Counter coalesced;
    private final Counter lockWaits;
    private final Counter reused;

    RefreshCoordinator(SessionStore store, UpstreamClient upstream, TokenService tokens, BrokerConfig config,
            MeterRegistry registry) {
        this.store = store;
        this.upstream = upstream;
        this.tokens = tokens;
        this.reuseWindow = config.session().refreshReuseWindow();
        // Covers re-reading the session (a Redis call) and the bounded upstream call; renewed before the commit.
        this.lockTtl = upstream.callBudget().plusSeconds(10);
        this.lockWaitBudget = lockTtl.plusSeconds(2);
        // The worker may wait for the lock, then hold it twice over (call, renewed for the commit), then revoke.
        this.joinWaitBudget = lockWaitBudget.plus(lockTtl.multipliedBy(2)).plus(upstream.callBudget());
        this.coalesced = Counter.builder("broker.refresh.coalesced")
                .description("Refreshes that joined another in-flight refresh of the same session in this process")
                .register(registry);
        this.lockWaits = Counter.builder("broker.refresh.lock.waits")
                .description("Refreshes that waited for another replica's refresh of the same session")
                .register(registry);
        this.reused = Counter.builder("broker.refresh.reused")
                .description("Refreshes answered with a result another refresh just produced, without an upstream call")
                .register(registry);
    }

    /**
     * @param scope requested scope, or null for the session's whole scope; must not widen it
     */
    public Grant refresh(RegisteredClient client, String handle, String scope) {
        if (!Handles.wellFormed(handle)) {
            throw invalidHandle();
        }
        String hash = Handles.hash(handle);
        Session session = store.find(hash).orElseThrow(RefreshCoordinator::invalidHandle);
        if (!session.clientId().equals(client.clientId())) {
            throw invalidHandle();
        }
        String requested = requestedScope(scope, session.scope());
        IssuedTokens issued = coalesced(hash + " " + requested, () -> refreshOnce(client, session, requested));
        return new Grant(issued.accessToken(), issued.tokenType(), issued.expiresInAt(System.currentTimeMillis()),
                issued.scope(), issued.idToken(), handle);
    }

    private IssuedTokens coalesced(String key, Supplier<IssuedTokens> work) {
        CompletableFuture<IssuedTokens> mine = new CompletableFuture<>();
        CompletableFuture<IssuedTokens> running = inFlight.putIfAbsent(key, mine);
        if (running != null) {
            coalesced.increment();
        } else {
            try {
                mine.complete(work.get());
            } catch (Throwable e) {
                mine.completeExceptionally(e);
            } finally {
                inFlight.remove(key, mine);
            }
            running = mine;
        }
        try {
            return running.get(joinWaitBudget.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new BrokerException.ServerError("refresh failed", e.getCause());
        } catch (TimeoutException e) {
            throw new BrokerException.RefreshContended("joined refresh did not finish in " + joinWaitBudget);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BrokerException.RefreshContended("interrupted while waiting for a refresh");
        }
    }

    /**
     * @param first the session as this request read it; a later version carries a newer result. Each further
     *              round re-reads it after waiting for another refresh.
     */
    private IssuedTokens refreshOnce(RegisteredClient client, Session first, String requested) {
        String hash = first.handleHash();
        long seenVersion = first.version();
        String owner = Handles.randomId();
        long deadline = System.currentTimeMillis() + lockWaitBudget.toMillis();
        Session session = first;
        while (true) {
            IssuedTokens recent = reusable(session, requested, seenVersion);
            if (recent != null) {
                return recent;
            }
            if (store.tryLock(hash, owner, lockTtl)) {
                boolean release = true;
                try {
                    // Another replica may have committed between our read and our lock.
                    Session locked = store.find(hash).orElseThrow(RefreshCoordinator::invalidHandle);
                    recent = reusable(locked, requested, seenVersion);
                    return recent != null ? recent : refreshUnderLock(client, locked, requested, owner);
                } catch (BrokerException.UpstreamTimeout | BrokerException.UpstreamUnavailable e) {
                    // The request may have reached the upstream, which may still be working on it or may have
                    // rotated the token: keep the lock until it expires, so nobody sends the same token meanwhile.
                    release = e.getCause() == null;
                    throw e;
                } finally {
                    if (release) {
                        unlockQuietly(hash, owner);
                    }
                }
            }
            if (System.currentTimeMillis() > deadline) {
                throw new BrokerException.RefreshContended("refresh lock held beyond " + lockWaitBudget);
            }
            lockWaits.increment();
            awaitUnlock(hash, deadline);
            session = store.find(hash).orElseThrow(RefreshCoordinator::invalidHandle);
        }
    }

    private IssuedTokens refreshUnderLock(RegisteredClient client, Session session, String requested, String owner) {
        UpstreamTokenResponse answer;
        try {
            answer = upstream.refresh(client, session.refreshToken(), requested.isEmpty() ? null : requested);
        } catch (BrokerException.InvalidGrant e) {
            // The upstream refresh token is dead (expired, revoked, reused): so is the session.
            store.deleteIfVersion(session.handleHash(), session.version());
            throw e;
        }
        long now = System.currentTimeMillis();
        // RFC 6749 §5.1: an omitted scope is the requested one.
        String scope = answer.scope() != null ? answer.scope() : requested.isEmpty() ? session.scope() : requested;
        IssuedTokens issued = new IssuedTokens(answer.accessToken(), TokenService.tokenType(answer.tokenType()),
                answer.expiresIn(), scope, answer.idToken(), requested, now);
        String rotated = answer.refreshToken() == null || answer.refreshToken().isEmpty()
                || answer.refreshToken().equals(session.refreshToken()) ? null : answer.refreshToken();
        SessionStore.CommitOutcome outcome;
        try {
            outcome = commit(session, owner, now, issued, rotated);
        } catch (BrokerException.StoreUnavailable e) {
            // The session still holds the refresh token just spent; the new one must not live on unrecorded.
            if (rotated != null) {
                tokens.revokeQuietly(client, rotated);
            }
            throw e;
        }
        switch (outcome) {
            case COMMITTED:
                return issued;
            case SESSION_GONE:
                // Revoked while we refreshed: the new refresh token must not outlive the session.
                if (rotated != null) {
                    tokens.revokeQuietly(client, rotated);
                }
                throw invalidHandle();
            default:
                // Cannot happen while upstream calls end within the lock's lifetime; if it does, the session
                // holds another refresh token now and ours would only be an orphan.
                LOG.error("A refresh committed by another process overtook this one while it held the lock");
                if (rotated != null) {
                    tokens.revokeQuietly(client, rotated);
                }
                throw new BrokerException.RefreshContended("session version moved under the refresh lock");
        }
    }

    /**
     * Commits, retrying briefly: the upstream has already answered, and with one-time refresh tokens a lost
     * commit would leave the session with a dead refresh token. The lock is renewed first so that the retries
     * cannot outlive it; the commit script is idempotent, so a retry after a lost reply is safe.
     */
    private SessionStore.CommitOutcome commit(Session session, String owner, long now, IssuedTokens issued,
            String rotated) {
        for (int attempt = 1;; attempt++) {
            try {
                if (attempt == 1) {
                    // Best effort: the version compare-and-set guards the commit whether or not the lock
                    // is still ours.
                    store.extendLock(session.handleHash(), owner, lockTtl);
                }
                return store.commitRefresh(session.handleHash(), owner, session.version(), now, issued, rotated);
            } catch (BrokerException.StoreUnavailable e) {
                if (attempt == COMMIT_ATTEMPTS) {
                    throw e;
                }
                pause(100L * attempt);
            }
        }
    }

    private IssuedTokens reusable(Session session, String requested, long seenVersion) {
        IssuedTokens recent = session.lastIssued()
                .filter(issued -> issued.requestedScope().equals(requested))
                .filter(issued -> session.version() > seenVersion
                        || System.currentTimeMillis() - session.refreshedAt() <= reuseWindow.toMillis())
                .orElse(null);
        if (recent != null) {
            reused.increment();
        }
        return recent;
    }

    private void awaitUnlock(String hash, long deadline) {
        while (store.isLocked(hash) && System.currentTimeMillis() <= deadline) {
            pause(LOCK_POLL_MILLIS);
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BrokerException.RefreshContended("interrupted while waiting for a refresh");
        }
    }

    private void unlockQuietly(String hash, String owner) {
        try {
            store.unlock(hash, owner);
        } catch (BrokerException e) {
            // The lock expires by itself; the original outcome matters more.
            LOG.debugf("Could not release a refresh lock: %s", e.logDetail());
        }
    }

    /**
     * "" for the session's whole scope; otherwise the requested scope, which must be a subset of the granted one
     * (RFC 6749 §6). When the upstream did not report a granted scope, it decides.
     */
    static String requestedScope(String scope, String granted) {
        if (scope == null || scope.isBlank()) {
            return "";
        }
        Set<String> asked = new HashSet<>(Arrays.asList(scope.trim().split(" +")));
        if (granted == null || granted.isEmpty()) {
            return String.join(" ", new TreeSet<>(asked));
        }
        Set<String> have = new HashSet<>(Arrays.asList(granted.trim().split(" +")));
        if (!have.containsAll(asked)) {
            throw new BrokerException.InvalidScope("The requested scope exceeds the scope granted to this session");
        }
        return asked.equals(have) ? "" : String.join(" ", new TreeSet<>(asked));
    }

    private static BrokerException.InvalidGrant invalidHandle() {
        return new BrokerException.InvalidGrant("The refresh token is invalid, expired or revoked");
    }
}
