package dev.tokenbroker.api.oauth2;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.openapi.annotations.Operation;

import dev.tokenbroker.api.http.FormBody;
import dev.tokenbroker.api.http.NoStore;
import dev.tokenbroker.api.http.Params;
import dev.tokenbroker.api.http.RateLimits;
import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.token.AuthorizationRequests;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpServerRequest;

/**
 * Broker-held PKCE for native apps ({@code pkce=broker}): the app asks here for an authorization URL, with the S256
 * challenge of a verifier of its own, opens the URL in the system browser, and later posts the {@code code} and
 * {@code state} it received to {@code /oauth2/token} with its own verifier; the broker checks that against the
 * challenge and redeems the code with the verifier it kept. The app's verifier never leaves the app until the
 * exchange, so an app that intercepts the redirect (another app registered for the same scheme) holds code and state
 * but cannot redeem them.
 */
@Path("/oauth2/authorization-request")
@Produces(MediaType.APPLICATION_JSON)
public class AuthorizationRequestResource {

    /** BASE64URL(SHA-256(verifier)) without padding (RFC 7636 §4.2). */
    private static final Pattern APP_CHALLENGE = Pattern.compile("[A-Za-z0-9_-]{43}");

    private final Clients clients;
    private final AuthorizationRequests authorizationRequests;

    private final RateLimits rateLimits;

    AuthorizationRequestResource(Clients clients, AuthorizationRequests authorizationRequests, RateLimits rateLimits) {
        this.rateLimits = rateLimits;
        this.clients = clients;
        this.authorizationRequests = authorizationRequests;
    }

    @POST
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(summary = "pkce=broker: start an authorization request; answers authorization_url and state")
    public Uni<Response> start(byte[] form, @HeaderParam("Content-Type") String type, HttpServerRequest http) {
        return Uni.createFrom().deferred(() -> {
            Params params = FormBody.parse(form, type);
            RegisteredClient client = clients.byClientId(params.required("client_id"))
                    .orElseThrow(() -> new BrokerException.InvalidClient("Unknown client_id"));
            if (client.mode() != BrokerConfig.ClientMode.NATIVE || client.pkce() != BrokerConfig.PkceMode.BROKER) {
                throw new BrokerException.InvalidRequest("This client does not use broker-held PKCE (pkce=broker)");
            }
            String redirectUri =
                    params.required("redirect_uri", Params.VSCHAR, "must be 1 to 2048 printable ASCII characters");
            String scope = params.optional("scope", Params.SCOPE, "must be space-separated scope tokens");
            String challenge = params.required(
                    "code_challenge", APP_CHALLENGE, "must be the S256 challenge of the app's own code_verifier");
            String method = params.optional("code_challenge_method");
            if (method != null && !method.equals("S256")) {
                throw new BrokerException.InvalidRequest("code_challenge_method must be S256");
            }
            String loginHint =
                    params.optional("login_hint", Params.VSCHAR, "must be 1 to 2048 printable ASCII characters");
            RegisteredClient asked = scope == null ? client : client.withScope(scope);
            // Each start stores a transaction and lets one exchange call the upstream: bounded per address and client.
            if (!client.redirectUris().contains(redirectUri)) {
                // Checked before the bounds are charged; AuthorizationRequests.start checks it again for every caller.
                throw new BrokerException.InvalidRequest("redirect_uri is not registered for this client");
            }
            return rateLimits
                    .admitAuthorizationRequest(client, http)
                    .chain(() -> authorizationRequests.start(asked, redirectUri, null, loginHint, challenge, null))
                    .map(started -> {
                        Map<String, String> body = new LinkedHashMap<>();
                        body.put("authorization_url", started.authorizationUrl().toString());
                        body.put("state", started.state());
                        return NoStore.ok(body);
                    });
        });
    }
}
