package dev.tokenbroker.api.oauth2;

import jakarta.inject.Singleton;

import dev.tokenbroker.api.http.Params;
import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.token.RefreshSession;
import dev.tokenbroker.token.RequestedScope;
import dev.tokenbroker.token.TokenResult;
import io.smallrye.mutiny.Uni;

/** RFC 6749 §6 with the broker's handle as the refresh token. */
@Singleton
public class RefreshTokenGrant implements GrantHandler {

    private final RefreshSession refreshSession;
    private final DpopBinding dpop;

    RefreshTokenGrant(RefreshSession refreshSession, DpopBinding dpop) {
        this.refreshSession = refreshSession;
        this.dpop = dpop;
    }

    @Override
    public String grantType() {
        return "refresh_token";
    }

    @Override
    public String operation() {
        return "refresh";
    }

    @Override
    public Uni<TokenResult> handle(RegisteredClient client, Params params, RequestFacts request) {
        if (client.mode() == BrokerConfig.ClientMode.WEB) {
            // A web session's handle lives in an HttpOnly cookie and refreshes at /bff/token, under its Origin and CSRF
            // checks; a copied cookie value must not refresh here and get the rotated handle back in a body.
            throw new BrokerException.InvalidGrant("A web-mode client's sessions refresh at /bff/token");
        }
        String handle = params.required("refresh_token", Params.VSCHAR, "must be 1 to 2048 printable ASCII characters");
        RequestedScope scope = RequestedScope.parse(
                params.optional("scope", Params.SCOPE, "must be space-separated scope tokens (RFC 6749 §3.3)"));
        return dpop.keyIfPresent(client, request)
                .chain(dpopKey -> refreshSession.refresh(new RefreshSession.Request(client, handle, scope, dpopKey)));
    }
}
