package dev.tokenbroker.api.http;

import java.util.List;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.RegisteredClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * CORS for {@code /oauth2/*} and {@code /bff/*}, by the clients' {@code allowed-origins} (Quarkus' own CORS filter has
 * one global origin list). An origin no client allows gets no CORS header at all, and its preflight a bare 403. A
 * preflight answer lists exactly what the endpoints accept: {@code POST} with {@code Content-Type} and {@code DPoP}
 * at {@code /oauth2/*} (no credentials: OAuth clients send none); {@code GET}, {@code POST} with {@code X-CSRF} and
 * credentials at {@code /bff/*}, for web clients' origins only. Nothing here grants access: the endpoints check
 * the client, the cookie, the CSRF header and the origin themselves.
 */
@Singleton
public class Cors {

    static final String OAUTH_METHODS = "POST";
    static final String OAUTH_HEADERS = "Content-Type, DPoP";
    static final String BFF_METHODS = "GET, POST";
    /** The API proxy ({@code /bff/api/*}): what its APIs may allow (each API narrows the methods it accepts). */
    static final String API_PROXY = "/bff/api/";

    static final String API_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE";
    static final String API_HEADERS =
            "X-CSRF, Content-Type, Accept, Accept-Language, If-Match, If-None-Match, " + "If-Modified-Since, Range";
    /** Who answered (RFC 9209), and what a page reads from an API's answer: its error, validators, ranges, names. */
    static final String API_EXPOSED =
            "Proxy-Status, WWW-Authenticate, ETag, Last-Modified, Content-Range, " + "Content-Disposition, Retry-After";
    /** The header a web app's pages send to every {@code /bff} call that changes state; cross-site forms cannot. */
    public static final String CSRF_HEADER = "X-CSRF";

    static final String BFF_HEADERS = CSRF_HEADER;
    /** How long a browser may cache a preflight answer. */
    static final String MAX_AGE = "600";

    /**
     * Looked up per request, not at injection: routes are installed before startup, and creating {@link Clients} then
     * would report a bad client configuration as a stack trace instead of ConfigurationCheck's plain lines.
     */
    private final Provider<Clients> clients;

    Cors(Provider<Clients> clients) {
        this.clients = clients;
    }

    void install(@Observes Router router) {
        // Before Quarkus REST's routes, so that preflights never reach the resources (which would answer 405).
        router.route("/oauth2/*").order(FilterOrder.CORS).handler(ctx -> handle(ctx, false));
        router.route("/bff/*").order(FilterOrder.CORS).handler(ctx -> handle(ctx, true));
    }

    private void handle(RoutingContext ctx, boolean bff) {
        String origin = ctx.request().getHeader("Origin");
        ctx.response().headers().add("Vary", "Origin");
        if (origin == null) {
            ctx.next();
            return;
        }
        List<RegisteredClient> allowing = clients.get().allowingOrigin(origin);
        boolean allowed =
                bff ? allowing.stream().anyMatch(c -> c.mode() == BrokerConfig.ClientMode.WEB) : !allowing.isEmpty();
        boolean preflight = HttpMethod.OPTIONS.equals(ctx.request().method())
                && ctx.request().getHeader("Access-Control-Request-Method") != null;
        if (!allowed) {
            if (preflight) {
                ctx.response().setStatusCode(403).end();
            } else {
                ctx.next();
            }
            return;
        }
        ctx.response().putHeader("Access-Control-Allow-Origin", origin);
        boolean api = bff && ctx.request().path().startsWith(API_PROXY);
        if (bff) {
            ctx.response().putHeader("Access-Control-Allow-Credentials", "true");
        }
        if (api) {
            ctx.response().putHeader("Access-Control-Expose-Headers", API_EXPOSED);
        }
        if (preflight) {
            ctx.response()
                    .putHeader("Access-Control-Allow-Methods", !bff ? OAUTH_METHODS : api ? API_METHODS : BFF_METHODS)
                    .putHeader("Access-Control-Allow-Headers", !bff ? OAUTH_HEADERS : api ? API_HEADERS : BFF_HEADERS)
                    .putHeader("Access-Control-Max-Age", MAX_AGE)
                    .setStatusCode(204)
                    .end();
            return;
        }
        ctx.next();
    }
}
