package dev.tokenbroker.api.oauth2;

import java.util.List;
import java.util.Map;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.openapi.annotations.Operation;

import dev.tokenbroker.api.http.ErrorResponse;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.SigningKey;

/**
 * The public keys of one {@code private_key_jwt} client (RFC 7517 JWK set), for the upstream to fetch by the
 * {@code jwks_uri} registered with that client: {@code /oauth2/jwks?client_id=<id>}. One set per client, so that the
 * upstream accepts a client's assertions only when signed with that client's own keys.
 */
@Path("/oauth2/jwks")
public class JwksResource {

    /** A rotation's new key is published before it signs; upstreams refetch on an unknown {@code kid} anyway. */
    private static final String CACHE_CONTROL = "public, max-age=300";

    private final Clients clients;

    JwksResource(Clients clients) {
        this.clients = clients;
    }

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "The public keys a private_key_jwt client's assertions are signed with")
    public Response keys(@QueryParam("client_id") String clientId) {
        List<Map<String, Object>> keys =
                clients.byClientId(clientId).map(client -> client.signingKeys().current()).orElse(List.of()).stream()
                        .map(SigningKey::publicJwk)
                        .toList();
        if (keys.isEmpty()) {
            return Response.status(Response.Status.NOT_FOUND)
                    .type(MediaType.APPLICATION_JSON)
                    .entity(new ErrorResponse("invalid_client", "No private_key_jwt client has this client_id"))
                    .build();
        }
        return Response.ok(Map.of("keys", keys))
                .header(HttpHeaders.CACHE_CONTROL, CACHE_CONTROL)
                .build();
    }
}
