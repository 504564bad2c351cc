package dev.tokenbroker.api;

import java.util.LinkedHashMap;
import java.util.Map;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.token.AuthorizationRequests;
import io.smallrye.mutiny.Uni;

/**
 * Broker-held PKCE for native apps ({@code pkce=broker}): the app asks here for an authorization URL, opens it in the
 * system browser, and later posts the {@code code} and {@code state} it received to {@code /oauth2/token} without a
 * verifier; the broker uses the one it kept.
 */
@Path("/oauth2/authorization-request")
@Produces(MediaType.APPLICATION_JSON)
public class AuthorizationRequestResource {

    private final Clients clients;
    private final AuthorizationRequests authorizationRequests;

    AuthorizationRequestResource(Clients clients, AuthorizationRequests authorizationRequests) {
        this.clients = clients;
        this.authorizationRequests = authorizationRequests;
    }

    @ServerExceptionMapper
    Response error(BrokerException e) {
        return ErrorMapper.oauthError(e);
    }

    @POST
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(summary = "pkce=broker: start an authorization request; answers authorization_url and state")
    public Uni<Response> start(MultivaluedMap<String, String> form) {
        return Uni.createFrom().deferred(() -> {
            Params params = new Params(form);
            RegisteredClient client = clients.byClientId(params.required("client_id"))
                    .orElseThrow(() -> new BrokerException.InvalidClient("Unknown client_id"));
            if (client.mode() != BrokerConfig.ClientMode.NATIVE || client.pkce() != BrokerConfig.PkceMode.BROKER) {
                throw new BrokerException.InvalidRequest("This client does not use broker-held PKCE (pkce=broker)");
            }
            String redirectUri =
                    params.required("redirect_uri", Params.VSCHAR, "must be 1 to 2048 printable ASCII characters");
            String scope = params.optional("scope", Params.SCOPE, "must be space-separated scope tokens");
            String loginHint =
                    params.optional("login_hint", Params.VSCHAR, "must be 1 to 2048 printable ASCII characters");
            RegisteredClient asked = scope == null ? client : client.withScope(scope);
            return authorizationRequests
                    .start(asked, redirectUri, null, loginHint)
                    .map(started -> {
                        Map<String, String> body = new LinkedHashMap<>();
                        body.put("authorization_url", started.authorizationUrl().toString());
                        body.put("state", started.state());
                        return NoStore.ok(body);
                    });
        });
    }
}
