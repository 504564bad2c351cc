package dev.tokenbroker.api.http;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;

/**
 * Answers an oversized body with the JSON error body, before Vert.x would read it and reply 413 with an
 * empty body. Requests whose Content-Length is declared (all standard OAuth clients send it) are covered;
 * a chunked body over the limit still gets Vert.x's bare 413.
 */
@Singleton
public class BodyLimit {

    private static final String API_PROXY = "/bff/api/";

    void install(
            @Observes Router router,
            @ConfigProperty(name = "quarkus.http.limits.max-body-size") MemorySize maxBodySize,
            ObjectMapper json)
            throws JsonProcessingException {
        long limit = maxBodySize.asLongValue();
        // The one error body, serialised once: this route runs before RESTEasy and its mappers.
        String body = json.writeValueAsString(new ErrorResponse("invalid_request", ErrorMapper.describe(413)));
        router.route().order(FilterOrder.BODY_LIMIT).handler(ctx -> {
            String declared = ctx.request().getHeader(HttpHeaders.CONTENT_LENGTH);
            // The BFF's API proxy streams bodies under each API's own max-request-body (api.bff.ApiProxy).
            if (declared != null
                    && isOver(declared, limit)
                    && !ctx.request().path().startsWith(API_PROXY)) {
                RouteErrors.send(ctx, 413, body);
            } else {
                ctx.next();
            }
        });
    }

    private static boolean isOver(String declared, long limit) {
        try {
            return Long.parseLong(declared.trim()) > limit;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
