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
 * The lock holder re-reads the session, calls the upstream, and commits the result with a Lua version
 * compare-and-set that also releases the lock.</li>
 * <li>Whoever finds the lock taken waits for it to go and re-reads: the result just committed lies within
 * the reuse window and is returned without an upstream call.</li>
 * </ol>
 * One-time refresh tokens are therefore never presented twice, which upstreams treat as token theft.
 */
@Singleton
public class RefreshCoordinator {

    private static final Logger LOG = Logger.getLogger(RefreshCoordinator.class);
    private static final long LOCK_POLL_MILLIS = 20;

    private final SessionStore store;
    private final UpstreamClient upstream;
    private final TokenService tokens;
    private final Duration reuseWindow;
    private final Duration lockTtl;
    private final Duration maxWait;
    private final ConcurrentHashMap<String, CompletableFuture<IssuedTokens>> inFlight = new ConcurrentHashMap<>();
    private final Counter coalesced;
    private final Counter lockWaits;
    private final Counter reused;

    RefreshCoordinator(SessionStore store, UpstreamClient upstream, TokenService tokens, BrokerConfig config,
            MeterRegistry registry) {
        this.coalesced = Counter.builder("broker.refresh.coalesced")
                .description("Refreshes that joined another in-flight refresh of the same session in this process")
                .register(registry);
        this.lockWaits = Counter.builder("broker.refresh.lock.waits")
                .description("Refreshes that waited for another replica's refresh of the same session")
                .register(registry);
        this.reused = Counter.builder("broker.refresh.reused")
                .description("Refreshes answered from a result within the reuse window, without an upstream call")
                .register(registry);
        this.store = store;
        this.upstream = upstream;
        this.tokens = tokens;
        this.reuseWindow = config.session().refreshReuseWindow();
        // The lock outlives the longest upstream call, so it never expires under a live holder.
        this.lockTtl = config.upstream().connectTimeout().plus(config.upstream().readTimeout()).plusSeconds(5);
        this.maxWait = lockTtl.plusSeconds(2);
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
        IssuedTokens issued = coalesced(hash + " " + requested, () -> refreshOnce(client, hash, requested));
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
            } catch (RuntimeException e) {
                mine.completeExceptionally(e);
            } finally {
                inFlight.remove(key, mine);
            }
            running = mine;
        }
        try {
            return running.get(maxWait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new BrokerException.ServerError("refresh failed", e.getCause());
        } catch (TimeoutException e) {
            throw new BrokerException.StoreUnavailable("coalesced refresh did not finish in " + maxWait, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BrokerException.StoreUnavailable("interrupted while waiting for a refresh", null);
        }
    }

    private IssuedTokens refreshOnce(RegisteredClient client, String hash, String requested) {
        String owner = Handles.randomId();
        long deadline = System.currentTimeMillis() + maxWait.toMillis();
        while (true) {
            Session session = store.find(hash).orElseThrow(RefreshCoordinator::invalidHandle);
            IssuedTokens recent = reusable(session, requested);
            if (recent != null) {
                return recent;
            }
            if (store.tryLock(hash, owner, lockTtl)) {
                try {
                    // Another replica may have committed between our read and our lock.
                    Session locked = store.find(hash).orElseThrow(RefreshCoordinator::invalidHandle);
                    recent = reusable(locked, requested);
                    return recent != null ? recent : refreshUnderLock(client, locked, requested, owner);
                } finally {
                    unlockQuietly(hash, owner);
                }
            }
            lockWaits.increment();
            awaitUnlock(hash, deadline);
        }
    }

    private IssuedTokens refreshUnderLock(RegisteredClient client, Session session, String requested, String owner) {
        UpstreamTokenResponse answer;
        try {
            answer = upstream.refresh(client, session.refreshToken(), requested.isEmpty() ? null : requested);
        } catch (BrokerException.InvalidGrant e) {
            // The upstream refresh token is dead (expired, revoked, reused): so is the session.
            store.delete(session.handleHash());
            throw e;
        }
        long now = System.currentTimeMillis();
        IssuedTokens issued = new IssuedTokens(answer.accessToken(), TokenService.tokenType(answer.tokenType()),
                answer.expiresIn(), answer.scope() != null ? answer.scope() : session.scope(), answer.idToken(),
                requested, now);
        String rotated = answer.refreshToken() == null || answer.refreshToken().isEmpty()
                || answer.refreshToken().equals(session.refreshToken()) ? null : answer.refreshToken();
        switch (store.commitRefresh(session.handleHash(), owner, session.version(), now, issued, rotated)) {
            case COMMITTED:
                return issued;
            case SESSION_GONE:
                // Revoked while we refreshed: the new refresh token must not outlive the session.
                if (rotated != null) {
                    tokens.revokeQuietly(client, rotated);
                }
                throw invalidHandle();
            default:
                throw new BrokerException.StoreUnavailable(
                        "session version moved while this process held its refresh lock", null);
        }
    }

    private IssuedTokens reusable(Session session, String requested) {
        IssuedTokens recent = session.lastIssued()
                .filter(issued -> issued.requestedScope().equals(requested))
                .filter(issued -> System.currentTimeMillis() - session.refreshedAt() <= reuseWindow.toMillis())
                .orElse(null);
        if (recent != null) {
            reused.increment();
        }
        return recent;
    }

    private void awaitUnlock(String hash, long deadline) {
        try {
            while (store.isLocked(hash)) {
                if (System.currentTimeMillis() > deadline) {
                    throw new BrokerException.StoreUnavailable("refresh lock held beyond " + maxWait, null);
                }
                Thread.sleep(LOCK_POLL_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BrokerException.StoreUnavailable("interrupted while waiting for a refresh lock", null);
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
