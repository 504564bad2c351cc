package dev.tokenbroker.api.bff;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.api.http.Cors;
import dev.tokenbroker.api.http.RouteErrors;
import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.token.WebSessions;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.httpproxy.ProxyRequest;
import io.vertx.httpproxy.ProxyResponse;

/**
 * The BFF's API proxy (draft-ietf-oauth-browser-based-apps §6.1): {@code /bff/api/<name>/<rest>} goes to the API
 * {@code <name>} of the session's client, at {@code <url>/<rest>} with the query, carrying {@code Authorization} with
 * the session's access token, refreshed through {@link WebSessions}' single-flight path when near expiry. The page
 * never holds a token. The same CSRF and {@code Origin} rules as the rest of {@code /bff/*}; only the configured
 * request and response headers cross (never the browser's cookies or {@code X-CSRF}, never the API's
 * {@code Set-Cookie}); bodies stream both ways through Vert.x's {@code HttpProxy} on the server and client Quarkus
 * already runs; a redirect is passed to the browser, never followed. Every answer says who gave it in
 * {@code Proxy-Status} (RFC 9209): {@code token-broker; received-status=401} is the API's 401, {@code token-broker;
 * error=http_request_denied} the broker's own refusal.
 */
@Singleton
public class ApiProxy {

    static final String PREFIX = "/bff/api/";
    private static final int ROUTE_ORDER = -50;
    private static final Logger LOG = Logger.getLogger(ApiProxy.class);
    private static final String PROXY_STATUS = "Proxy-Status";
    private static final String NAME = "token-broker";

    /**
     * Looked up per request, as {@link Cors} does: routes are installed before startup, and creating these then (the
     * key ring behind the session store among them) would report a bad configuration as a stack trace instead of the
     * startup check's plain lines.
     */
    private final Provider<Clients> clients;

    private final Provider<WebSessions> webSessions;
    private final HttpClient http;
    private final long sessionSeconds;

    ApiProxy(Provider<Clients> clients, Provider<WebSessions> webSessions, Vertx vertx, BrokerConfig config) {
        this.clients = clients;
        this.webSessions = webSessions;
        this.http = vertx.createHttpClient(new HttpClientOptions().setMaxPoolSize(64));
        this.sessionSeconds = config.session().maxLifetime().toSeconds();
    }

    void install(@Observes Router router) {
        // After the broker's filters (Cors is at -100) and before Quarkus' own body-size check (-2), which would
        // refuse any body over quarkus.http.limits.max-body-size: the proxy holds each API to its max-request-body.
        router.route(PREFIX + "*").order(ROUTE_ORDER).handler(this::handle);
    }

    private void handle(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        if (request.version() == HttpVersion.HTTP_1_0) {
            // Vert.x's proxy would buffer a chunked answer whole for an HTTP/1.0 client, without a bound.
            send(ctx, 505, "invalid_request", "HTTP/1.1 or later is required", "http_request_denied");
            return;
        }
        // Holds the body (paused) until the API's connection takes it, or releases it with a refusal.
        ProxyRequest proxied = ProxyRequest.reverseProxy(request);
        String origin = request.getHeader("Origin");
        Cookie cookie = request.getCookie(BffResource.SESSION_COOKIE);
        try {
            boolean safe = request.method() == HttpMethod.GET || request.method() == HttpMethod.HEAD;
            BffResource.checkCsrf(clients.get(), request.getHeader(Cors.CSRF_HEADER), origin, !safe);
            if (cookie == null || cookie.getValue().isEmpty()) {
                throw new BrokerException.NotSignedIn("Not signed in");
            }
        } catch (BrokerException e) {
            refuse(ctx, proxied, e);
            return;
        }
        // Back on the request's own event loop for the forwarding: the token may come from another (Redis') thread.
        Context context = Vertx.currentContext();
        Uni.createFrom()
                .deferred(() -> webSessions.get().accessToken(cookie.getValue(), origin, WebSessions.Use.PROXY))
                .subscribe()
                .with(
                        token -> context.runOnContext(v -> forward(ctx, proxied, token)),
                        failure -> context.runOnContext(v -> refuse(ctx, proxied, failure)));
    }

    private void forward(RoutingContext ctx, ProxyRequest proxied, WebSessions.AccessToken token) {
        if (token.newHandle() != null) {
            // On every answer, the API's or the broker's own: a browser that missed it would present the retired
            // handle and, after the rotation grace, be logged out as a thief.
            ctx.response()
                    .headers()
                    .add(
                            "Set-Cookie",
                            BffResource.cookie(
                                    BffResource.SESSION_COOKIE,
                                    token.newHandle(),
                                    token.client().cookieSameSite().attribute,
                                    sessionSeconds));
        }
        String path = ctx.request().path().substring(PREFIX.length());
        int slash = path.indexOf('/');
        String name = slash < 0 ? path : path.substring(0, slash);
        BrokerConfig.Api api = token.client().apis().get(name);
        if (api == null) {
            refuse(ctx, proxied, 404, "invalid_request", "No such API for this session's client", null);
            return;
        }
        String rest = slash < 0 ? "" : path.substring(slash);
        // Servlet containers resolve "..;" as "..", and "//host" reads as a host to URL parsers behind the API. The
        // raw target too: the router's path may already have dropped a ";" segment parameter.
        String target = ctx.request().uri();
        String rawPath = target.indexOf('?') < 0 ? target : target.substring(0, target.indexOf('?'));
        if (rest.contains("//")
                || rawPath.contains(";")
                || rawPath.toLowerCase(Locale.ROOT).contains("%3b")) {
            refuse(ctx, proxied, 400, "invalid_request", "Malformed API path", null);
            return;
        }
        if (!api.methods().contains(ctx.request().method().name())) {
            refuse(ctx, proxied, 405, "invalid_request", "Method not allowed", String.join(", ", api.methods()));
            return;
        }
        String declared = ctx.request().getHeader("Content-Length");
        if (declared != null && over(declared, api.maxRequestBody().asLongValue())) {
            refuse(ctx, proxied, 413, "invalid_request", "Request body too large", null);
            return;
        }
        // A body of unknown length could not be held to the limit before the API got part of it. Browsers send the
        // length of every fetch() body but a ReadableStream's.
        if (declared == null && ctx.request().getHeader("Transfer-Encoding") != null) {
            refuse(ctx, proxied, 411, "invalid_request", "A request body needs a Content-Length", null);
            return;
        }
        URI base = api.url();
        boolean https = "https".equalsIgnoreCase(base.getScheme());
        int port = base.getPort() > 0 ? base.getPort() : https ? 443 : 80;
        String basePath = withoutTrailingSlashes(base.getRawPath());
        String query = ctx.request().query();
        proxied.setURI(basePath + rest + (query == null ? "" : "?" + query));
        proxied.setAuthority(HostAndPort.create(base.getHost(), port));
        keepOnly(proxied.headers(), api.requestHeaders());
        proxied.putHeader("Authorization", token.tokenType() + " " + token.accessToken());
        long timeout = api.timeout().toMillis();
        RequestOptions options = new RequestOptions()
                .setHost(base.getHost())
                .setPort(port)
                .setSsl(https)
                .setConnectTimeout(timeout)
                .setIdleTimeout(timeout);
        http.request(options).compose(proxied::send).onComplete(sent -> {
            if (sent.failed()) {
                upstreamFailed(ctx, proxied, name, sent.cause());
                return;
            }
            ProxyResponse response = sent.result();
            String length = response.headers().get("Content-Length");
            if (length != null && over(length, api.maxResponseBody().asLongValue())) {
                LOG.infof("API %s answered %s bytes, over max-response-body", name, length);
                response.release();
                send(ctx, 502, "server_error", "The API's answer is too large", "http_response_content_length");
                return;
            }
            keepOnly(response.headers(), api.responseHeaders());
            response.putHeader(PROXY_STATUS, NAME + "; received-status=" + response.getStatusCode());
            privateToTheUser(response.headers());
            response.send();
        });
    }

    private void upstreamFailed(RoutingContext ctx, ProxyRequest proxied, String name, Throwable cause) {
        proxied.release();
        boolean timedOut = cause instanceof TimeoutException
                || cause.getClass().getSimpleName().contains("Timeout");
        LOG.warnf("API %s did not answer: %s", name, cause.getClass().getSimpleName());
        if (timedOut) {
            send(ctx, 504, "temporarily_unavailable", "The API did not answer in time", "http_response_timeout");
        } else {
            send(ctx, 502, "temporarily_unavailable", "The API is unreachable", "destination_unavailable");
        }
    }

    private void refuse(RoutingContext ctx, ProxyRequest proxied, Throwable failure) {
        proxied.release();
        BrokerException e =
                failure instanceof BrokerException b ? b : new BrokerException.ServerError("API proxy failed", failure);
        RouteErrors.send(ctx, e, Map.of(PROXY_STATUS, NAME + "; error=" + proxyError(e.status())));
    }

    private void refuse(
            RoutingContext ctx, ProxyRequest proxied, int status, String error, String description, String allow) {
        proxied.release();
        if (allow != null) {
            ctx.response().putHeader("Allow", allow);
        }
        send(ctx, status, error, description, proxyError(status));
    }

    private static void send(RoutingContext ctx, int status, String error, String description, String proxyError) {
        RouteErrors.send(ctx, status, error, description, Map.of(PROXY_STATUS, NAME + "; error=" + proxyError));
    }

    /**
     * The browser's request carried a cookie, not {@code Authorization}, so RFC 9111 §3.5 no longer keeps a shared
     * cache from storing the answer: one user's data, served to another. Marked {@code private} unless the API said
     * {@code private} or {@code no-store}.
     */
    private static void privateToTheUser(MultiMap headers) {
        String cacheControl = headers.get("Cache-Control");
        String lower = cacheControl == null ? "" : cacheControl.toLowerCase(Locale.ROOT);
        if (lower.contains("private") || lower.contains("no-store")) {
            return;
        }
        String rest = lower.replaceAll("\\bpublic\\b,?\\s*", "").replaceAll("[,\\s]+$", "");
        headers.set("Cache-Control", rest.isEmpty() ? "private" : "private, " + rest);
    }

    /** RFC 9209 §2.3's error types for what the broker itself answers. */
    private static String proxyError(int status) {
        return status >= 500 ? "proxy_internal_error" : "http_request_denied";
    }

    /** Removes every header whose lower-case name is not in {@code allowed} (the body's length always stays). */
    private static void keepOnly(MultiMap headers, Set<String> allowed) {
        List<String> refused = new ArrayList<>();
        for (Map.Entry<String, String> header : headers) {
            String name = header.getKey();
            if (!name.equalsIgnoreCase("content-length") && !allowed.contains(name.toLowerCase(Locale.ROOT))) {
                refused.add(name);
            }
        }
        refused.forEach(headers::remove);
    }

    private static String withoutTrailingSlashes(String path) {
        int end = path == null ? 0 : path.length();
        while (end > 0 && path.charAt(end - 1) == '/') {
            end--;
        }
        return end == 0 ? "" : path.substring(0, end);
    }

    private static boolean over(String declared, long limit) {
        try {
            return Long.parseLong(declared.trim()) > limit;
        } catch (NumberFormatException e) {
            return true;
        }
    }
}
