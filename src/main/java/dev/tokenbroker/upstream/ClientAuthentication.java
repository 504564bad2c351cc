package dev.tokenbroker.upstream;

import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;

import jakarta.ws.rs.core.Form;

import dev.tokenbroker.config.RegisteredClient;
import io.vertx.core.http.RequestOptions;

/**
 * How the broker proves to the upstream that a token or revocation call comes from a client (RFC 6749 §2.3), one
 * implementation per {@code token_endpoint_auth_method} (RFC 7591). Implementations hold the client's credentials and
 * never show them in {@code toString()}.
 */
interface ClientAuthentication {

    /**
     * Adds the client's credentials to a token or revocation call to {@code endpoint} of {@code upstream}: a header,
     * form fields, or both.
     */
    void apply(UpstreamEndpoints upstream, URI endpoint, RequestOptions request, Form form);

    /** The PEM file of the key and certificate the call's TLS connection presents; empty for none. */
    default Optional<Path> clientCertificate() {
        return Optional.empty();
    }

    static ClientAuthentication of(RegisteredClient client) {
        return switch (client.authMethod()) {
            case client_secret_basic ->
                new ClientSecretBasic(client.clientId(), client.clientSecret().orElseThrow());
            case client_secret_post ->
                new ClientSecretPost(client.clientId(), client.clientSecret().orElseThrow());
            case private_key_jwt ->
                new PrivateKeyJwt(
                        client.clientId(), client.signingKeys(), client.assertionAudience(), Clock.systemUTC());
            case tls_client_auth ->
                new TlsClientAuth(
                        client.clientId(), client.tlsClientCertificate().orElseThrow());
        };
    }
}
