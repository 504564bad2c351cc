package dev.tokenbroker.upstream;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

import jakarta.ws.rs.core.Form;
import jakarta.ws.rs.core.HttpHeaders;

import dev.tokenbroker.config.ClientSecret;
import io.vertx.core.http.RequestOptions;

/** {@code client_secret_basic}: HTTP Basic with the client id and secret (RFC 6749 §2.3.1). */
final class ClientSecretBasic implements ClientAuthentication {

    /** The header of one secret, computed once per secret rather than per call. */
    private record Header(String secret, String authorization) {
        @Override
        public String toString() {
            return "Header[redacted]";
        }
    }

    private final String clientId;
    private final ClientSecret clientSecret;
    private volatile Header header;

    /** @param clientSecret read again from its file while the broker runs: each call sends the one read last */
    ClientSecretBasic(String clientId, ClientSecret clientSecret) {
        this.clientId = clientId;
        this.clientSecret = clientSecret;
    }

    @Override
    public void apply(UpstreamEndpoints upstream, URI endpoint, RequestOptions request, Form form) {
        String secret = clientSecret.value();
        Header current = header;
        if (current == null || !current.secret().equals(secret)) {
            current = new Header(secret, header(clientId, secret));
            header = current;
        }
        request.putHeader(HttpHeaders.AUTHORIZATION, current.authorization());
    }

    /**
     * RFC 6749 §2.3.1: id and secret are each {@code application/x-www-form-urlencoded} before they are joined and
     * base64-encoded, so {@code : + %}, spaces and non-ASCII arrive intact.
     */
    static String header(String clientId, String clientSecret) {
        String pair = URLEncoder.encode(clientId, StandardCharsets.UTF_8) + ":"
                + URLEncoder.encode(clientSecret, StandardCharsets.UTF_8);
        return "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
        return "client_secret_basic";
    }
}
