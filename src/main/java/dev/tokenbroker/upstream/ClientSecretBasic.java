package dev.tokenbroker.upstream;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

import jakarta.ws.rs.core.Form;
import jakarta.ws.rs.core.HttpHeaders;

import io.vertx.core.http.RequestOptions;

/** {@code client_secret_basic}: HTTP Basic with the client id and secret (RFC 6749 §2.3.1). */
final class ClientSecretBasic implements ClientAuthentication {

    /** Computed once: the secret does not change while the broker runs. */
    private final String authorization;

    ClientSecretBasic(String clientId, String clientSecret) {
        this.authorization = header(clientId, clientSecret);
    }

    @Override
    public void apply(UpstreamEndpoints upstream, URI endpoint, RequestOptions request, Form form) {
        request.putHeader(HttpHeaders.AUTHORIZATION, authorization);
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
