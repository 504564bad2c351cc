package dev.tokenbroker.token;

import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Singleton;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.ConfiguredUpstream;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.redis.ReplayCache;
import dev.tokenbroker.session.SessionStore;
import dev.tokenbroker.session.SessionStore.EndReason;
import dev.tokenbroker.upstream.LogoutTokens;
import dev.tokenbroker.upstream.LogoutTokens.LogoutToken;

/**
 * OIDC Back-Channel Logout 1.0: the user's session at the upstream ended, so the broker's sessions derived from it
 * end too.
 * <ol>
 * <li>Wait for one of {@code broker.backchannel-logout.max-concurrent} slots (a storm of logout tokens queues here
 * instead of flooding Redis and the upstream); none within the upstream read timeout: 503, the upstream retries.</li>
 * <li>Verify the token completely ({@link LogoutTokens}); any failure: 400, nothing changed.</li>
 * <li>Record its {@code jti} in Redis (SET NX, shared by replicas); seen before: 400 (§2.6).</li>
 * <li>Find the candidates: with {@code sid}, the sessions of that upstream session, else the user's ({@code sub}),
 * from the index sets under every key's tag (no SCAN; work proportional to that user's sessions).</li>
 * <li>End each through {@link EndSession#endByBroker}, atomically only if it belongs to a client the token names:
 * upstream refresh token revoked (outbox on failure), audit line, metric.</li>
 * <li>If Redis fails midway, forget the {@code jti} (best effort) and fail with 503, so that the upstream's retry is
 * not refused as a replay; ending sessions twice is harmless (step 5 is atomic per session).</li>
 * </ol>
 */
@Singleton
public class BackchannelLogout {

    /** What one logout token did. */
    public record Outcome(int sessionsEnded) {}

    private final LogoutTokens tokens;
    private final ReplayCache replays;
    private final SessionStore store;
    private final EndSession endSession;
    private final Clients clients;
    private final Semaphore slots;
    private final long waitMillis;

    BackchannelLogout(
            LogoutTokens tokens,
            ReplayCache replays,
            SessionStore store,
            EndSession endSession,
            Clients clients,
            BrokerConfig config) {
        this.clients = clients;
        this.tokens = tokens;
        this.replays = replays;
        this.store = store;
        this.endSession = endSession;
        this.slots = new Semaphore(config.backchannelLogout().maxConcurrent(), true);
        this.waitMillis = ConfiguredUpstream.all(config).stream()
                .mapToLong(upstream -> upstream.settings().readTimeout().toMillis())
                .max()
                .orElseThrow();
    }

    /**
     * @throws BrokerException.InvalidLogoutToken when the token fails a check or was seen before
     * @throws BrokerException.StoreUnavailable   when Redis failed (the upstream should retry)
     * @throws BrokerException.Overloaded         when too many logout tokens are in flight
     */
    public Outcome handle(String logoutToken) {
        try {
            if (!slots.tryAcquire(waitMillis, TimeUnit.MILLISECONDS)) {
                throw new BrokerException.Overloaded(
                        "back-channel logout: all " + "broker.backchannel-logout.max-concurrent slots busy");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BrokerException.Overloaded("interrupted while waiting for a back-channel logout slot");
        }
        try {
            return verifiedThenEnded(logoutToken);
        } finally {
            slots.release();
        }
    }

    private Outcome verifiedThenEnded(String logoutToken) {
        LogoutToken token = tokens.verify(logoutToken);
        // Runs on a worker thread (the logout endpoint reads its body there): waiting for Redis here is fine.
        if (!replays.firstUseOfLogoutToken(token.issuer(), token.jti(), tokens.replayWindow())
                .await()
                .indefinitely()) {
            throw new BrokerException.InvalidLogoutToken("replayed", "logout token jti seen before");
        }
        try {
            String by = token.sid() != null ? "sid" : "sub";
            Set<String> candidates = token.sid() != null
                    ? store.sessionsOfUpstreamSession(token.sid()).await().indefinitely()
                    : store.sessionsOfSubject(token.subject()).await().indefinitely();
            int ended = 0;
            for (String clientId : token.clientIds()) {
                int endedForClient = 0;
                for (String sessionId : candidates) {
                    if (endSession
                            .endByBroker(sessionId, clientId, EndReason.BACKCHANNEL_LOGOUT)
                            .isPresent()) {
                        endedForClient++;
                    }
                }
                Audit.backchannelLogout(
                        clients.byClientId(clientId).map(RegisteredClient::name).orElse("unknown"), by, endedForClient);
                ended += endedForClient;
            }
            return new Outcome(ended);
        } catch (RuntimeException e) {
            replays.forgetLogoutToken(token.issuer(), token.jti()).await().indefinitely();
            throw e;
        }
    }
}
