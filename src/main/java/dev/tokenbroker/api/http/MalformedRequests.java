package dev.tokenbroker.api.http;

import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import jakarta.ws.rs.core.MediaType;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;

/**
 * Refuses, with the RFC 6749 JSON error body, what the HTTP fuzzer found the framework answering with a 500 or a page
 * of its own, before any resource runs:
 *
 * <ul>
 *   <li>a POST without {@code Content-Type}: its body was read as a form, and a valid code exchange reached the
 *       upstream. Now 415.
 *   <li>a {@code Content-Type} that is not a media type ({@code ;}, {@code application/}) or names a charset Java does
 *       not know: RESTEasy threw {@code IllegalArgumentException} or {@code UnsupportedEncodingException} (500). Now
 *       415.
 *   <li>a request target with dot segments or encoded dots, slashes or backslashes: Vert.x normalises
 *       {@code /oauth2/../q/metrics} to {@code /q/metrics}, past a proxy that routes only {@code /oauth2}. Now 400.
 *   <li>any other failure that reaches the router, such as HTTP/1.1 without {@code Host}: Quarkus' error page named
 *       the Vert.x exception (and in dev and test mode printed its stack). Now 400 (or a plain 500 for anything that
 *       is not the client's fault), no internal names.
 * </ul>
 */
@Singleton
public class MalformedRequests {

    private static final Set<String> ASCII_COMPATIBLE = Set.of("utf-8", "us-ascii", "iso-8859-1");
    private static final Logger LOG = Logger.getLogger(MalformedRequests.class);
    private static final Pattern DOT_SEGMENT_OR_ENCODED_SEPARATOR =
            Pattern.compile("(^|/)\\.\\.?(/|$)|%2[eEfF]|%5[cC]|\\\\");

    void install(@Observes Router router, ObjectMapper json) throws JsonProcessingException {
        String badType = json.writeValueAsString(new ErrorResponse("invalid_request", ErrorMapper.describe(415)));
        String badTarget = json.writeValueAsString(new ErrorResponse("invalid_request", "Malformed request target"));
        String malformed = json.writeValueAsString(new ErrorResponse("invalid_request", ErrorMapper.describe(400)));
        String internal = json.writeValueAsString(new ErrorResponse("server_error", "Internal error"));

        router.route().order(FilterOrder.REQUEST_SHAPE).handler(ctx -> {
            String path = ctx.request().path();
            if (path == null
                    || !path.startsWith("/")
                    || DOT_SEGMENT_OR_ENCODED_SEPARATOR.matcher(path).find()) {
                RouteErrors.send(ctx, 400, badTarget);
            } else if (!wellFormedContentType(
                    ctx.request().method(), path, ctx.request().getHeader(HttpHeaders.CONTENT_TYPE))) {
                RouteErrors.send(ctx, 415, badType);
            } else {
                ctx.next();
            }
        });

        router.route().order(FilterOrder.FAILURES).failureHandler(ctx -> {
            int status = ctx.statusCode();
            if (ctx.response().headWritten()) {
                // Too late for any answer (the failure came after the response started): end the exchange.
                ctx.request().connection().close();
            } else if (status >= 400 && status < 500) {
                LOG.infof(
                        "Rejected request: %d %s",
                        status,
                        ctx.failure() == null ? "" : ctx.failure().getClass().getSimpleName());
                RouteErrors.send(ctx, status, status == 400 ? malformed : describe(json, status));
            } else {
                LOG.error("Request failed before reaching a resource", ctx.failure());
                RouteErrors.send(ctx, 500, internal);
            }
        });
    }

    private static String describe(ObjectMapper json, int status) {
        try {
            return json.writeValueAsString(new ErrorResponse("invalid_request", ErrorMapper.describe(status)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A media type whose charset parameter (if any) is UTF-8, US-ASCII or ISO-8859-1; absent only where no form is read:
     * on requests other than POST, and outside {@code /oauth2/} and {@code /oidc/} (RFC 6749 §3.2: the token
     * endpoint's parameters come form-encoded, and a body of no declared type was read as a form). A browser's
     * bodiless {@code POST /bff/token} has no {@code Content-Type}.
     */
    static boolean wellFormedContentType(HttpMethod method, String path, String header) {
        if (header == null) {
            return !HttpMethod.POST.equals(method) || !(path.startsWith("/oauth2/") || path.startsWith("/oidc/"));
        }
        if (header.equals(MediaType.APPLICATION_FORM_URLENCODED)) {
            return true; // what OAuth clients send on every request: no need to parse it
        }
        try {
            MediaType type = MediaType.valueOf(header);
            String charset = type.getParameters().get(MediaType.CHARSET_PARAMETER);
            // Only charsets whose bytes keep '&', '=' and '%' where ASCII has them: with EBCDIC or UTF-16 a proxy or
            // WAF that reads the body as ASCII would see something other than what the broker decodes.
            return charset == null || ASCII_COMPATIBLE.contains(charset.toLowerCase(Locale.ROOT));
        } catch (RuntimeException e) {
            return false;
        }
    }
}
