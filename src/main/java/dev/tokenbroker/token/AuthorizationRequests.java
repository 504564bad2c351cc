package dev.tokenbroker.token;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.jwt.JsonWebToken;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.session.AuthorizationTransactions;
import dev.tokenbroker.session.AuthorizationTransactions.Transaction;
import dev.tokenbroker.upstream.UpstreamClient;
import dev.tokenbroker.upstream.UpstreamEndpoints;
import dev.tokenbroker.upstream.Upstreams;
import io.smallrye.mutiny.Uni;

/**
 * Authorization requests the broker starts and keeps (web mode, and native apps with {@code pkce=broker}): it makes
 * {@code state}, {@code nonce} and the PKCE pair (RFC 7636, S256), stores them as a one-time transaction shared by all
 * replicas, and builds the upstream authorization URL, pushing the request's parameters to the upstream first (RFC 9126)
 * when it can. Only a code that comes back with a {@code state} the broker
 * issued, for the same client, is ever exchanged: the broker is no code-redemption oracle for codes it did not ask
 * for (draft-ietf-oauth-browser-based-apps §5.1.3).
 */
@Singleton
public class AuthorizationRequests {

    /** What the caller sends the browser to; {@link #toString()} is redacted. */
    public record Started(URI authorizationUrl, String state) {
        @Override
        public String toString() {
            return "Started[]";
        }
    }

    private final AuthorizationTransactions transactions;
    private final Upstreams upstreams;
    private final UpstreamClient upstream;
    private final BrokerConfig.Web config;

    AuthorizationRequests(
            AuthorizationTransactions transactions, Upstreams upstreams, UpstreamClient upstream, BrokerConfig config) {
        this.transactions = transactions;
        this.upstreams = upstreams;
        this.upstream = upstream;
        this.config = config.web();
    }

    /**
     * @param redirectUri one of the client's registered redirect URIs (checked here)
     * @param returnTo    web mode: where the browser goes afterwards, already checked against the allowlist; else null
     * @param loginHint   OIDC {@code login_hint}, or null
     * @param appChallenge {@code pkce=broker}: the S256 {@code code_challenge} of the app's own verifier; web mode: null
     * @param replaces     web mode: the handle of the browser's session cookie, ended once the new login succeeds; or
     *     null
     */
    public Uni<Started> start(
            RegisteredClient client,
            String redirectUri,
            String returnTo,
            String loginHint,
            String appChallenge,
            String replaces) {
        if (!client.redirectUris().contains(redirectUri)) {
            return Uni.createFrom()
                    .failure(new BrokerException.InvalidRequest("redirect_uri is not registered for this client"));
        }
        // The login ends with a check of the ID token's nonce against the JWKS: refuse now what could not be checked
        // then, before the user signs in and the code is spent.
        if (!List.of(client.scope().split(" ")).contains("openid")) {
            return Uni.createFrom()
                    .failure(new BrokerException.InvalidScope(
                            "The scope must include openid: the broker checks the ID token of the logins it runs"));
        }
        UpstreamEndpoints endpoints = upstreams.endpointsOf(client);
        if (endpoints.jwksUri().isEmpty()) {
            return Uni.createFrom()
                    .failure(new BrokerException.UpstreamUnavailable(
                            "no jwks_uri: the broker-run flows verify ID tokens (discovery from the upstream's issuer)",
                            null,
                            false));
        }
        URI endpoint = endpoints
                .authorizationEndpoint()
                .orElseThrow(() -> new BrokerException.UpstreamUnavailable(
                        "no authorization_endpoint: the broker-run flows need discovery (broker.upstream.issuer)",
                        null,
                        false));
        Transaction transaction = new Transaction(
                client.clientId(),
                Handles.randomSecret(),
                Handles.randomSecret(),
                Handles.randomSecret(),
                redirectUri,
                returnTo,
                appChallenge,
                replaces);
        Optional<URI> par = client.par() == BrokerConfig.ParMode.OFF
                ? Optional.empty()
                : endpoints.pushedAuthorizationRequestEndpoint();
        if (par.isEmpty() && client.par() == BrokerConfig.ParMode.REQUIRED) {
            return Uni.createFrom()
                    .failure(new BrokerException.UpstreamUnavailable(
                            "par=required, but the upstream advertises no pushed_authorization_request_endpoint",
                            null,
                            false));
        }
        Map<String, String> query = new LinkedHashMap<>();
        query.put("response_type", "code");
        query.put("client_id", client.clientId());
        query.put("redirect_uri", redirectUri);
        query.put("scope", client.scope());
        query.put("state", transaction.state());
        query.put("nonce", transaction.nonce());
        query.put("code_challenge", Handles.s256(transaction.codeVerifier()));
        query.put("code_challenge_method", "S256");
        if (loginHint != null) {
            query.put("login_hint", loginHint);
        }
        // With PAR the parameters go to the upstream directly; the browser carries only the reference to them.
        Uni<Map<String, String>> browserQuery = par.isEmpty()
                ? Uni.createFrom().item(query)
                : upstream.pushAuthorizationRequest(client, par.get(), query).map(pushed -> {
                    Map<String, String> reference = new LinkedHashMap<>();
                    reference.put("client_id", client.clientId());
                    reference.put("request_uri", pushed.requestUri());
                    return reference;
                });
        return browserQuery
                .map(parameters -> url(endpoint, parameters))
                .call(url -> transactions.put(transaction, config.transactionLifetime()))
                .map(url -> new Started(url, transaction.state()));
    }

    private static URI url(URI endpoint, Map<String, String> query) {
        String encoded = query.entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                        + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        String base = endpoint.toString();
        return URI.create(base + (base.contains("?") ? "&" : "?") + encoded);
    }

    /**
     * The transaction of a {@code state} this client's request got, consumed: a second call with the same state, a
     * state of another client, or one the broker never issued fails with {@code invalid_grant} before any upstream
     * call.
     */
    public Uni<Transaction> take(RegisteredClient client, String state) {
        return take(state).map(t -> {
            if (!t.clientId().equals(client.clientId())) {
                throw unknownState();
            }
            return t;
        });
    }

    /** Like {@link #take(RegisteredClient, String)}, for the web callback, which learns the client from the transaction. */
    public Uni<Transaction> take(String state) {
        return transactions.take(state).map(found -> found.orElseThrow(AuthorizationRequests::unknownState));
    }

    /**
     * OIDC Core §3.1.3.7 step 11: the verified ID token carries the nonce of the authorization request.
     *
     * @throws BrokerException.InvalidGrant otherwise
     */
    static void checkNonce(JsonWebToken idToken, Transaction transaction) {
        String nonce = idToken.getClaim("nonce");
        if (nonce == null
                || !MessageDigest.isEqual(
                        nonce.getBytes(StandardCharsets.UTF_8),
                        transaction.nonce().getBytes(StandardCharsets.UTF_8))) {
            throw new BrokerException.InvalidGrant("The ID token's nonce is not the one of this login");
        }
    }

    static BrokerException unknownState() {
        return new BrokerException.InvalidGrant("state is unknown, expired, already used or not this client's");
    }
}
