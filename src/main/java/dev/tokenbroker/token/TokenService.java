package dev.tokenbroker.token;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.session.SessionStore;
import dev.tokenbroker.upstream.TokenIdentity;
import dev.tokenbroker.upstream.UpstreamClient;
import dev.tokenbroker.upstream.UpstreamTokenResponse;

/** Code exchange and revocation. Refresh lives in {@link RefreshCoordinator}. */
@Singleton
public class TokenService {

    private static final Logger LOG = Logger.getLogger(TokenService.class);

    private final UpstreamClient upstream;
    private final TokenIdentity identity;
    private final SessionStore store;

    TokenService(UpstreamClient upstream, TokenIdentity identity, SessionStore store) {
        this.upstream = upstream;
        this.identity = identity;
        this.store = store;
    }

    /**
     * Redeems an authorization code upstream and opens a session for its refresh token. The request was
     * validated by the caller; the redirect URI is checked here, before the upstream burns the code.
     */
    public Grant exchange(RegisteredClient client, String code, String redirectUri, String codeVerifier) {
        if (!client.redirectUris().contains(redirectUri)) {
            throw new BrokerException.InvalidGrant("redirect_uri is not registered for this client");
        }
        UpstreamTokenResponse token = upstream.exchangeCode(client, code, redirectUri, codeVerifier);
        if (token.refreshToken() == null || token.refreshToken().isEmpty()) {
            return grant(token, null);
        }
        TokenIdentity.Identity user = identity.of(token);
        String handle = Handles.newHandle();
        try {
            store.create(Handles.hash(handle), client.clientId(), token.scope(), user.subject(), user.sessionId(),
                    token.refreshToken(), System.currentTimeMillis());
        } catch (RuntimeException e) {
            // Never hand out tokens without a stored session; do not leave a live refresh token behind either.
            revokeQuietly(client, token.refreshToken());
            throw e;
        }
        return grant(token, handle);
    }

    /**
     * RFC 7009: ends the session behind a handle and revokes its upstream refresh token. Unknown handles and
     * handles of other clients are ignored, so the answer never tells whether a handle exists.
     */
    public void revoke(RegisteredClient client, String handle) {
        if (Handles.wellFormed(handle)) {
            store.take(Handles.hash(handle), client.clientId())
                    .ifPresent(refreshToken -> revokeQuietly(client, refreshToken));
        }
    }

    void revokeQuietly(RegisteredClient client, String refreshToken) {
        try {
            if (!upstream.revokeRefreshToken(client, refreshToken)) {
                LOG.debugf("No upstream revocation endpoint: refresh token of client %s not revoked upstream",
                        client.name());
            }
        } catch (BrokerException e) {
            LOG.warnf("Upstream revocation failed for client %s: %s", client.name(), e.logDetail());
        }
    }

    private static Grant grant(UpstreamTokenResponse token, String handle) {
        return new Grant(token.accessToken(), tokenType(token.tokenType()), token.expiresIn(), token.scope(),
                token.idToken(), handle);
    }

    static String tokenType(String upstreamType) {
        return upstreamType == null || upstreamType.isEmpty() ? "Bearer" : upstreamType;
    }
}
