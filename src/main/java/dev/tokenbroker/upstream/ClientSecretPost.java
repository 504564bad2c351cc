package dev.tokenbroker.upstream;

import java.net.URI;

import jakarta.ws.rs.core.Form;

import dev.tokenbroker.config.ClientSecret;
import io.vertx.core.http.RequestOptions;

/** {@code client_secret_post}: the client id and secret as form fields (RFC 6749 §2.3.1). */
final class ClientSecretPost implements ClientAuthentication {

    private final String clientId;
    private final ClientSecret clientSecret;

    /** @param clientSecret read again from its file while the broker runs: each call sends the one read last */
    ClientSecretPost(String clientId, ClientSecret clientSecret) {
        this.clientId = clientId;
        this.clientSecret = clientSecret;
    }

    @Override
    public void apply(UpstreamEndpoints upstream, URI endpoint, RequestOptions request, Form form) {
        // putSingle: a pushed authorization request already names the client.
        form.asMap().putSingle("client_id", clientId);
        form.param("client_secret", clientSecret.value());
    }

    @Override
    public String toString() {
        return "client_secret_post";
    }
}
