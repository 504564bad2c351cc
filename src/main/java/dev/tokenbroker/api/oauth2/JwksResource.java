package dev.tokenbroker.api.oauth2;

import java.util.Map;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.openapi.annotations.Operation;

import dev.tokenbroker.config.Clients;

/**
 * The public keys of the {@code private_key_jwt} clients (RFC 7517 JWK set), for the upstream to fetch by the
 * {@code jwks_uri} registered with each client. Empty when no client signs.
 */
@Path("/oauth2/jwks")
public class JwksResource {

    /** A rotation's new key is published before it signs; upstreams refetch on an unknown {@code kid} anyway. */
    private static final String CACHE_CONTROL = "public, max-age=300";

    private final Map<String, Object> keySet;

    JwksResource(Clients clients) {
        this.keySet = Map.of("keys", clients.publishedKeys());
    }

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "The public keys the broker signs private_key_jwt client assertions with")
    public Response keys() {
        return Response.ok(keySet)
                .header(HttpHeaders.CACHE_CONTROL, CACHE_CONTROL)
                .build();
    }
}
