package dev.tokenbroker.api.oauth2;

import jakarta.inject.Singleton;

import dev.tokenbroker.api.http.Params;
import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.token.BrokerHeldPkce;
import dev.tokenbroker.token.ExchangeCode;
import dev.tokenbroker.token.TokenResult;
import io.smallrye.mutiny.Uni;

/** RFC 6749 §4.1.3 with RFC 7636: every field is checked here, before the upstream can burn the code. */
@Singleton
public class AuthorizationCodeGrant implements GrantHandler {

    private final ExchangeCode exchangeCode;
    private final DpopBinding dpop;
    private final BrokerHeldPkce brokerHeldPkce;

    AuthorizationCodeGrant(ExchangeCode exchangeCode, DpopBinding dpop, BrokerHeldPkce brokerHeldPkce) {
        this.exchangeCode = exchangeCode;
        this.dpop = dpop;
        this.brokerHeldPkce = brokerHeldPkce;
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
        if (client.brokerRunsPkce()) {
            return brokerHeldPkce(client, params, request, code);
        }
        String redirectUri =
                params.required("redirect_uri", Params.VSCHAR, "must be 1 to 2048 printable ASCII characters");
        String verifier = params.required(
                "code_verifier", Params.CODE_VERIFIER, "must be 43 to 128 characters of [A-Za-z0-9._~-] (RFC 7636)");
        return dpop.keyForExchange(client, request)
                .chain(dpopKey ->
                        exchangeCode.exchange(new ExchangeCode.Request(client, code, redirectUri, verifier, dpopKey)));
    }

    /**
     * {@code pkce=broker}: the code must come with the {@code state} of an authorization request the broker started
     * for this client and the app's own verifier of the challenge it gave then ({@link BrokerHeldPkce}). Web clients
     * never redeem codes here: their callback is {@code /bff/callback}.
     */
    private Uni<TokenResult> brokerHeldPkce(RegisteredClient client, Params params, RequestFacts request, String code) {
        if (client.mode() == BrokerConfig.ClientMode.WEB) {
            throw new BrokerException.InvalidGrant("A web-mode client's codes are redeemed by the broker's callback");
        }
        String appVerifier = params.required(
                "code_verifier", Params.CODE_VERIFIER, "must be 43 to 128 characters of [A-Za-z0-9._~-] (RFC 7636)");
        String state = params.required("state", Params.VSCHAR, "must be 1 to 2048 printable ASCII characters");
        String redirectUri =
                params.optional("redirect_uri", Params.VSCHAR, "must be 1 to 2048 printable ASCII characters");
        return dpop.keyForExchange(client, request)
                .chain(dpopKey -> brokerHeldPkce.redeem(
                        new BrokerHeldPkce.Request(client, state, code, appVerifier, redirectUri, dpopKey)));
    }
}
