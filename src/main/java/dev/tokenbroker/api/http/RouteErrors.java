package dev.tokenbroker.api.http;

import java.util.Map;

import jakarta.ws.rs.core.Response;

import dev.tokenbroker.error.BrokerException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.Json;
import io.vertx.ext.web.RoutingContext;

/**
 * Answers from a Vert.x route, before RESTEasy and its mappers run: the same JSON error body and no-store headers
 * that {@link ErrorMapper} gives, and the connection closed (the rest of the request is not read).
 */
public final class RouteErrors {

    private RouteErrors() {}

    static void send(RoutingContext ctx, int status, String jsonBody) {
        ctx.response()
                .setStatusCode(status)
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
                .putHeader("Pragma", "no-cache")
                .putHeader(HttpHeaders.CONNECTION, "close")
                .end(jsonBody);
    }

    /**
     * {@link ErrorMapper#oauthError}'s answer to {@code e} (logged as it logs it) from a Vert.x route that runs after
     * the filters, with {@code headers} added.
     */
    public static void send(RoutingContext ctx, BrokerException e, Map<String, String> headers) {
        Response answer = ErrorMapper.oauthError(e);
        ErrorResponse body = (ErrorResponse) answer.getEntity();
        answer.getStringHeaders().forEach((name, values) -> {
            if (!name.equalsIgnoreCase(HttpHeaders.CONTENT_TYPE.toString())) {
                values.forEach(v -> ctx.response().headers().add(name, v));
            }
        });
        send(ctx, answer.getStatus(), body.error(), body.errorDescription(), headers);
    }

    /** The JSON error body with no-store headers and {@code headers}, from a Vert.x route. */
    public static void send(
            RoutingContext ctx, int status, String error, String description, Map<String, String> headers) {
        headers.forEach(ctx.response()::putHeader);
        send(ctx, status, Json.encode(new ErrorResponse(error, description)));
    }
}
