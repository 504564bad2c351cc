package dev.tokenbroker.api;

import jakarta.inject.Singleton;

import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.token.ExchangeCode;
import dev.tokenbroker.token.TokenResult;
import io.smallrye.mutiny.Uni;

/** RFC 6749 §4.1.3 with RFC 7636: every field is checked here, before the upstream can burn the code. */
@Singleton
class AuthorizationCodeGrant implements GrantHandler {

    private final ExchangeCode exchangeCode;
    private final DpopBinding dpop;

    AuthorizationCodeGrant(ExchangeCode exchangeCode, DpopBinding dpop) {
        this.exchangeCode = exchangeCode;
        this.dpop = dpop;
    }

    @Override
    public String grantType() {
        return "authorization_code";
    }

    @Override
    public String operation() {
        return "exchange";
    }

    /** The upstream burns a code on any failed exchange: replaying stolen or guessed codes must not be cheap. */
    @Override
    public boolean invalidGrantCostsExtra() {
        return true;
    }

    @Override
    public Uni<TokenResult> handle(RegisteredClient client, Params params, RequestFacts request) {
        String code = params.required("code", Params.VSCHAR, "must be 1 to 2048 printable ASCII characters");
        String redirectUri =
                params.required("redirect_uri", Params.VSCHAR, "must be 1 to 2048 printable ASCII characters");
        String verifier = params.required(
                "code_verifier", Params.CODE_VERIFIER, "must be 43 to 128 characters of [A-Za-z0-9._~-] (RFC 7636)");
        return dpop.keyForExchange(client, request)
                .chain(dpopKey ->
                        exchangeCode.exchange(new ExchangeCode.Request(client, code, redirectUri, verifier, dpopKey)));
    }
}
