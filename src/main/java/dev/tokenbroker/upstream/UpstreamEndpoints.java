package dev.tokenbroker.upstream;

import java.net.URI;
import java.util.Optional;

/**
 * Where the upstream lives: from configuration, discovery, or both (configuration wins).
 *
 * @param sendsIssuer discovery's {@code authorization_response_iss_parameter_supported} (RFC 9207): its authorization
 *     responses carry {@code iss}
 */
public record UpstreamEndpoints(
        Optional<String> issuer,
        URI tokenEndpoint,
        Optional<URI> revocationEndpoint,
        Optional<URI> jwksUri,
        Optional<URI> authorizationEndpoint,
        Optional<URI> endSessionEndpoint,
        Optional<URI> pushedAuthorizationRequestEndpoint,
        boolean sendsIssuer) {

    /** Without discovery: what the configuration names. */
    UpstreamEndpoints(Optional<String> issuer, URI tokenEndpoint, Optional<URI> revocationEndpoint) {
        this(
                issuer,
                tokenEndpoint,
                revocationEndpoint,
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                false);
    }
}
