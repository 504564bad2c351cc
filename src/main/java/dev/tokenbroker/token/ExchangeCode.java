package dev.tokenbroker.token;

import java.time.Duration;

import jakarta.inject.Singleton;

import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.redis.ReplayCache;
import dev.tokenbroker.session.ActiveSessions;
import dev.tokenbroker.session.SessionStore;
import dev.tokenbroker.upstream.TokenIdentity;
import dev.tokenbroker.upstream.UpstreamClient;
import dev.tokenbroker.upstream.UpstreamTokenResponse;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

/** Redeems an authorization code upstream and opens a session for its refresh token. */
@Singleton
public class ExchangeCode {

    /**
     * How long the broker remembers which session a code opened: the longest lifetime RFC 6749 §4.1.2 recommends for a
     * code, after which the upstream refuses it as expired anyway.
     */
    static final Duration CODE_LIFETIME = Duration.ofMinutes(10);

    /**
     * A code exchange, its fields already checked for syntax. {@link #toString()} is redacted.
     *
     * @param dpopKey thumbprint of the key of the request's verified DPoP proof, or null: the session is bound to it
     */
    public record Request(
            RegisteredClient client, String code, String redirectUri, String codeVerifier, String dpopKey) {
        @Override
        public String toString() {
            return "ExchangeCode.Request[client=" + client.name() + ", dpop=" + (dpopKey != null) + "]";
        }
    }

    private final UpstreamClient upstream;
    private final TokenIdentity identity;
    private final SessionStore store;
    private final EndSession endSession;
    private final ActiveSessions active;
    private final SessionCap cap;
    private final SessionWork work;
    private final ReplayCache redemptions;

    ExchangeCode(
            UpstreamClient upstream,
            TokenIdentity identity,
            SessionStore store,
            EndSession endSession,
            ActiveSessions active,
            SessionCap cap,
            SessionWork work,
            ReplayCache redemptions) {
        this.work = work;
        this.redemptions = redemptions;
        this.active = active;
        this.cap = cap;
        this.upstream = upstream;
        this.identity = identity;
        this.store = store;
        this.endSession = endSession;
    }

    /**
     * The redirect URI is checked here, before the upstream burns the code on any failed exchange. Once the code has
     * left for the upstream, the exchange is {@link SessionWork}: if the caller has gone away when the session is
     * open, nobody holds its handle, and the session is ended at once (reason {@code abandoned}), its upstream refresh
     * token revoked. A retry with the same code then fails upstream (codes are single-use) and the app signs in again:
     * the broker keeps no answer keyed by a code, which travelled through a browser and is the weaker secret.
     * <p>
     * An answer that was sent but lost on its way (a proxy, a dropped connection) looks delivered here. The app's retry
     * of the same exchange (same code and verifier) is refused upstream; the broker then ends the session the first
     * exchange opened, as RFC 6749 §4.1.2 asks of an authorization server, so that no session lives on that nobody
     * holds a handle to.
     */
    public Uni<TokenResult> exchange(Request request) {
        RegisteredClient client = request.client();
        if (!client.redirectUris().contains(request.redirectUri())) {
            return Uni.createFrom()
                    .failure(new BrokerException.InvalidGrant("redirect_uri is not registered for this client"));
        }
        return work.outlivingCaller(() -> redeem(request), result -> endSession.abandoned(client, result.handle()));
    }

    private Uni<TokenResult> redeem(Request request) {
        RegisteredClient client = request.client();
        return upstream.exchangeCode(client, request.code(), request.redirectUri(), request.codeVerifier())
                .onFailure(BrokerException.InvalidGrant.class)
                .call(() -> endSessionOfEarlierExchange(request))
                .chain(token ->
                        token.refreshToken() == null || token.refreshToken().isEmpty()
                                ? Uni.createFrom().item(result(token, null))
                                : openSession(request, token));
    }

    private Uni<TokenResult> openSession(Request request, UpstreamTokenResponse token) {
        RegisteredClient client = request.client();
        Handles.Handle handle = Handles.newHandle();
        return identity.of(token, client)
                .chain(user -> store.create(new SessionStore.NewSession(
                                handle.sessionId(),
                                handle.secretHash(),
                                client.clientId(),
                                token.scope(),
                                user.subject(),
                                user.sessionId(),
                                token.refreshToken(),
                                token.refreshExpiresIn(),
                                request.dpopKey()))
                        .replaceWith(user))
                // Never hand out tokens without a stored session; do not leave a live refresh token behind either.
                .onFailure()
                .call(() -> endSession.revokeOrphan(client, token.refreshToken()))
                .invoke(() -> {
                    active.created(client.clientId(), handle.sessionId());
                    Audit.sessionCreated(handle.sessionId(), client.name(), request.dpopKey() != null);
                })
                .call(user -> capped(client, user.subject(), handle.sessionId()))
                .call(() -> redemptions
                        .rememberRedemption(
                                client.clientId(),
                                request.code(),
                                request.codeVerifier(),
                                handle.sessionId(),
                                CODE_LIFETIME)
                        .onFailure()
                        .recoverWithNull())
                .map(user -> result(token, handle.value()));
    }

    /** The session an earlier exchange of this code and verifier opened, if any, ends; best effort. */
    private Uni<Void> endSessionOfEarlierExchange(Request request) {
        return redemptions
                .redeemedBefore(request.client().clientId(), request.code(), request.codeVerifier())
                .chain(sessionId -> sessionId
                        .map(id -> endSession.codeReused(request.client(), id))
                        .orElse(Uni.createFrom().voidItem()))
                .onFailure()
                .recoverWithNull();
    }

    /** Only for a client with {@code max-sessions-per-user}: the extra Redis reads and ends run on a worker thread. */
    private Uni<Integer> capped(RegisteredClient client, String subject, String sessionId) {
        if (client.maxSessionsPerUser().isEmpty() || subject == null) {
            return Uni.createFrom().item(0);
        }
        return Uni.createFrom()
                .item(() -> cap.enforce(client, subject, sessionId))
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    private static TokenResult result(UpstreamTokenResponse token, String handle) {
        return new TokenResult(
                token.accessToken(),
                tokenType(token.tokenType()),
                token.expiresIn(),
                emptyToNull(token.scope()),
                token.idToken(),
                handle);
    }

    static String tokenType(String upstreamType) {
        return upstreamType == null || upstreamType.isEmpty() ? "Bearer" : upstreamType;
    }

    static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
