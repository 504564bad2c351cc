package dev.tokenbroker.api.http;

import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/** RFC 6749 §5.1: responses that may carry tokens must not be cached. Errors get the same headers. */
public final class NoStore {

    private NoStore() {}

    public static Response ok(Object body) {
        return headers(Response.ok(body, MediaType.APPLICATION_JSON_TYPE)).build();
    }

    public static Response.ResponseBuilder headers(Response.ResponseBuilder builder) {
        return builder.header("Cache-Control", "no-store").header("Pragma", "no-cache");
    }
}
