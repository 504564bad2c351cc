package dev.tokenbroker.api.http;

import io.vertx.core.http.HttpHeaders;
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
}
