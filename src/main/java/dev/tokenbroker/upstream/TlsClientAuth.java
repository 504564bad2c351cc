package dev.tokenbroker.upstream;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

import jakarta.ws.rs.core.Form;

import io.vertx.core.http.RequestOptions;

/**
 * {@code tls_client_auth} (RFC 8705 §2.1): the client proves itself with its certificate on the TLS connection, which
 * {@link UpstreamHttp} opens with this client's key; the request names the client and carries no secret. An upstream
 * that binds tokens to the certificate (RFC 8705 §3) binds them to the broker's, which every later refresh presents.
 */
final class TlsClientAuth implements ClientAuthentication {

    private final String clientId;
    private final Path certificate;

    TlsClientAuth(String clientId, Path certificate) {
        this.clientId = clientId;
        this.certificate = certificate;
    }

    @Override
    public void apply(UpstreamEndpoints upstream, URI endpoint, RequestOptions request, Form form) {
        // putSingle: a pushed authorization request already names the client.
        form.asMap().putSingle("client_id", clientId);
    }

    @Override
    public Optional<Path> clientCertificate() {
        return Optional.of(certificate);
    }

    @Override
    public String toString() {
        return "tls_client_auth[" + certificate + "]";
    }
}
