package dev.tokenbroker.api.bff;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import jakarta.ws.rs.CookieParam;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;

import org.eclipse.microprofile.openapi.annotations.Operation;

import dev.tokenbroker.api.http.Cors;
import dev.tokenbroker.api.http.ErrorMapper;
import dev.tokenbroker.api.http.NoStore;
import dev.tokenbroker.api.http.Params;
import dev.tokenbroker.api.http.RateLimits;
import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.Origins;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.session.AuthorizationTransactions.Transaction;
import dev.tokenbroker.token.AuthorizationRequests;
import dev.tokenbroker.token.WebSessions;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpServerRequest;

/**
 * Web mode: the browser's side of {@link WebSessions}. The refresh credential stays in an HttpOnly cookie; with
 * {@code token-endpoint=on} short-lived access tokens go to the page's memory (a token-mediating backend,
 * draft-ietf-oauth-browser-based-apps §6.2), with {@code off} the page gets none and calls its APIs through
 * {@link ApiProxy} (a BFF, §6.1). Cookies are {@code __Host-} cookies (Secure, Path=/, no Domain), HttpOnly; the
 * session cookie holds the session's current handle and nothing else. Every call that reads the user or returns or
 * ends anything needs {@code X-CSRF: 1} (a header no HTML form can send, and that makes every cross-origin call
 * preflighted) and, where the browser sends one (always on POST), an {@code Origin} the client allows.
 */
@Path("/bff")
@Produces(MediaType.APPLICATION_JSON)
public class BffResource {

    public static final String SESSION_COOKIE = "__Host-tb-session";
    public static final String LOGIN_COOKIE = "__Host-tb-login";
    private static final String CSRF_HEADER = Cors.CSRF_HEADER;

    /** RFC 6749 §4.1.2.1 error codes are ASCII letters and underscores; anything else is reported as one fixed code. */
    private static final Pattern ERROR_CODE = Pattern.compile("[a-z_]{1,64}");

    private static final Pattern STATE = Pattern.compile("[A-Za-z0-9_-]{43}");
    /** A {@code return_to} is stored with the login's transaction: any web page can make a browser send one. */
    static final int MAX_RETURN_TO = 1024;

    private final Clients clients;
    private final AuthorizationRequests authorizationRequests;
    private final WebSessions webSessions;
    private final Optional<URI> externalBaseUrl;
    private final long transactionSeconds;
    private final long sessionSeconds;

    private final RateLimits rateLimits;

    BffResource(
            Clients clients,
            AuthorizationRequests authorizationRequests,
            WebSessions webSessions,
            RateLimits rateLimits,
            BrokerConfig config) {
        this.rateLimits = rateLimits;
        this.clients = clients;
        this.authorizationRequests = authorizationRequests;
        this.webSessions = webSessions;
        this.externalBaseUrl = config.externalBaseUrl();
        this.transactionSeconds = config.web().transactionLifetime().toSeconds();
        this.sessionSeconds = config.session().maxLifetime().toSeconds();
    }

    @GET
    @Path("/login")
    @Operation(summary = "Web mode: start a login; redirects to the upstream's authorization endpoint")
    public Uni<Response> login(
            @QueryParam("client_id") String clientId,
            @QueryParam("return_to") String returnTo,
            @HeaderParam("Sec-Fetch-Dest") String fetchDest,
            @CookieParam(SESSION_COOKIE) String session,
            @Context UriInfo uri,
            HttpServerRequest http) {
        return Uni.createFrom().deferred(() -> {
            // A login is a top-level navigation. Any page can embed /bff/login as an image or frame in its visitors'
            // browsers, each of which would store a transaction; browsers say what a request is for (Fetch Metadata).
            if (fetchDest != null && !fetchDest.equals("document")) {
                throw new BrokerException.InvalidRequest("a login starts with a top-level navigation");
            }
            RegisteredClient client = webClient(clientId);
            String target = returnTo == null ? client.returnTo().get(0) : returnTo;
            if (target.length() > MAX_RETURN_TO) {
                throw new BrokerException.InvalidRequest("return_to is longer than " + MAX_RETURN_TO + " characters");
            }
            if (!Origins.returnToAllowed(client, target)) {
                throw new BrokerException.InvalidRequest("return_to is not on this client's return-to allowlist");
            }
            String redirectUri = brokerOrigin(uri) + Origins.CALLBACK_PATH;
            // Each login stores a transaction and lets one callback call the upstream: bounded per address and client.
            return rateLimits
                    .admitAuthorizationRequest(client, http)
                    // A browser that signs in again while it holds a session: the new one replaces it (the
                    // Strict cookie comes with this same-site navigation, not with the upstream's redirect back).
                    .chain(() -> authorizationRequests.start(
                            client,
                            redirectUri,
                            target,
                            null,
                            null,
                            Handles.parse(session).isPresent() ? session : null))
                    .map(started -> NoStore.headers(Response.status(302))
                            .location(started.authorizationUrl())
                            .header("Set-Cookie", cookie(LOGIN_COOKIE, started.state(), "Lax", transactionSeconds))
                            .build());
        });
    }

    @GET
    @Path("/callback")
    @Operation(summary = "Web mode: the upstream's redirect back; sets the session cookie and redirects to return_to")
    public Uni<Response> callback(
            @QueryParam("state") String state,
            @QueryParam("code") String code,
            @QueryParam("error") String error,
            @QueryParam("iss") List<String> iss,
            @CookieParam(LOGIN_COOKIE) String loginCookie) {
        String clearLogin = cookie(LOGIN_COOKIE, "", "Lax", 0);
        return Uni.createFrom()
                .deferred(() -> {
                    if (state == null || !STATE.matcher(state).matches()) {
                        throw new BrokerException.InvalidRequest("state is missing or malformed");
                    }
                    // Bound to the browser that started the login: a state from another browser (login CSRF) or a
                    // forged one is refused here, before the transaction is touched.
                    if (loginCookie == null || !constantTimeEquals(loginCookie, state)) {
                        throw new BrokerException.InvalidRequest(
                                "state does not belong to a login this browser started");
                    }
                    return authorizationRequests.take(state).chain(transaction -> {
                        RegisteredClient client = clients.byClientId(transaction.clientId())
                                .filter(c -> c.mode() == BrokerConfig.ClientMode.WEB && transaction.returnTo() != null)
                                .orElseThrow(() -> new BrokerException.InvalidGrant("state is not a web login"));
                        if (iss.size() > 1) {
                            throw new BrokerException.InvalidRequest("iss is repeated");
                        }
                        webSessions.checkAuthorizationResponseIssuer(client, iss.isEmpty() ? null : iss.get(0));
                        if (error != null) {
                            String reported = ERROR_CODE.matcher(error).matches() ? error : "invalid_request";
                            return Uni.createFrom().item(redirect(withError(transaction, reported), clearLogin, null));
                        }
                        if (code == null || !Params.VSCHAR.matcher(code).matches()) {
                            throw new BrokerException.InvalidRequest("code is missing or malformed");
                        }
                        return webSessions
                                .completeLogin(client, transaction, code)
                                .map(signedIn -> redirect(
                                        URI.create(signedIn.returnTo()),
                                        clearLogin,
                                        sessionCookie(client, signedIn.handle())));
                    });
                })
                .onFailure(BrokerException.class)
                .recoverWithItem(e -> {
                    Response refused = ErrorMapper.oauthError((BrokerException) e);
                    // Only this browser's own login ends here: a cross-site link with some other state must not
                    // cancel a login in progress by clearing its cookie.
                    boolean ownLogin = state != null && loginCookie != null && constantTimeEquals(loginCookie, state);
                    return ownLogin ? withCookies(refused, clearLogin) : refused;
                });
    }

    @GET
    @Path("/user")
    @Operation(summary = "Web mode: the signed-in user's claims and the session's expiry; 401 when not signed in")
    public Uni<Response> user(
            @CookieParam(SESSION_COOKIE) String session,
            @HeaderParam(CSRF_HEADER) String csrf,
            @HeaderParam("Origin") String origin) {
        return Uni.createFrom().deferred(() -> {
            checkCsrf(csrf, origin, false);
            return webSessions.user(signedIn(session), origin).map(user -> {
                Map<String, Object> body = new LinkedHashMap<>(user.claims());
                body.put("session_expires_at", user.sessionExpiresAt());
                return NoStore.ok(body);
            });
        });
    }

    @POST
    @Path("/token")
    @Operation(summary = "Web mode: a short-lived access token for the SPA to keep in memory")
    public Uni<Response> token(
            @CookieParam(SESSION_COOKIE) String session,
            @HeaderParam(CSRF_HEADER) String csrf,
            @HeaderParam("Origin") String origin) {
        return Uni.createFrom().deferred(() -> {
            checkCsrf(csrf, origin, true);
            String handle = signedIn(session);
            return webSessions.accessToken(handle, origin, WebSessions.Use.PAGE).map(token -> {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("access_token", token.accessToken());
                body.put("token_type", token.tokenType());
                body.put("expires_in", token.expiresIn());
                if (token.scope() != null) {
                    body.put("scope", token.scope());
                }
                Response.ResponseBuilder ok = NoStore.headers(Response.ok(body, MediaType.APPLICATION_JSON_TYPE));
                if (token.newHandle() != null) {
                    ok.header(
                            "Set-Cookie",
                            cookie(
                                    SESSION_COOKIE,
                                    token.newHandle(),
                                    token.client().cookieSameSite().attribute,
                                    sessionSeconds));
                }
                return ok.build();
            });
        });
    }

    @POST
    @Path("/logout")
    @Operation(summary = "Web mode: ends the session, clears the cookies, returns the upstream logout URL")
    public Uni<Response> logout(
            @CookieParam(SESSION_COOKIE) String session,
            @HeaderParam(CSRF_HEADER) String csrf,
            @HeaderParam("Origin") String origin) {
        return Uni.createFrom().deferred(() -> {
            checkCsrf(csrf, origin, true);
            Uni<Optional<URI>> ended =
                    session == null ? Uni.createFrom().item(Optional.empty()) : webSessions.logout(session, origin);
            return ended.map(url -> {
                Map<String, Object> body = new LinkedHashMap<>();
                url.ifPresent(u -> body.put("end_session_url", u.toString()));
                return withCookies(
                        NoStore.ok(body), cookie(SESSION_COOKIE, "", "Strict", 0), cookie(LOGIN_COOKIE, "", "Lax", 0));
            });
        });
    }

    /**
     * The header proves the call came from script the browser let through CORS (a form or a navigation cannot set
     * it); the origin, when the browser sends it (every POST, every cross-origin call), must be one a web client
     * allows; {@link WebSessions} checks it again against the session's own client.
     */
    private void checkCsrf(String csrf, String origin, boolean originRequired) {
        checkCsrf(clients, csrf, origin, originRequired);
    }

    /** {@link #checkCsrf(String, String, boolean)} for the API proxy, which shares these rules. */
    static void checkCsrf(Clients clients, String csrf, String origin, boolean originRequired) {
        if (!"1".equals(csrf)) {
            throw new BrokerException.CrossSiteRefused("The " + CSRF_HEADER + ": 1 header is required");
        }
        if (origin == null
                ? originRequired
                : clients.allowingOrigin(origin).stream().noneMatch(BffResource::isWeb)) {
            throw new BrokerException.CrossSiteRefused("The request's Origin is not allowed");
        }
    }

    private static boolean isWeb(RegisteredClient client) {
        return client.mode() == BrokerConfig.ClientMode.WEB;
    }

    private RegisteredClient webClient(String clientId) {
        List<RegisteredClient> web = clients.webClients();
        if (clientId == null) {
            if (web.size() != 1) {
                throw new BrokerException.InvalidRequest("client_id is required: several web clients are configured");
            }
            return web.get(0);
        }
        return web.stream()
                .filter(c -> c.clientId().equals(clientId))
                .findFirst()
                .orElseThrow(() -> new BrokerException.InvalidClient("client_id is not a web-mode client"));
    }

    /** Behind an ingress, {@code broker.external-base-url}; else the origin the browser asked for. */
    private String brokerOrigin(UriInfo uri) {
        return Origins.originOf(externalBaseUrl.orElse(uri.getBaseUri()));
    }

    private static String signedIn(String session) {
        if (session == null || session.isEmpty()) {
            throw new BrokerException.NotSignedIn("Not signed in");
        }
        return session;
    }

    private String sessionCookie(RegisteredClient client, String handle) {
        return cookie(SESSION_COOKIE, handle, client.cookieSameSite().attribute, sessionSeconds);
    }

    /** A {@code __Host-} cookie: Secure, Path=/, no Domain (RFC 6265bis §4.1.3.2), HttpOnly. */
    static String cookie(String name, String value, String sameSite, long maxAgeSeconds) {
        return name + "=" + value + "; Path=/; Secure; HttpOnly; SameSite=" + sameSite + "; Max-Age=" + maxAgeSeconds;
    }

    private static Response redirect(URI location, String clearLogin, String session) {
        Response.ResponseBuilder builder =
                NoStore.headers(Response.status(302)).location(location).header("Set-Cookie", clearLogin);
        if (session != null) {
            builder.header("Set-Cookie", session);
        }
        return builder.build();
    }

    private static URI withError(Transaction transaction, String error) {
        String target = transaction.returnTo();
        return URI.create(target + (target.contains("?") ? "&" : "?") + "error=" + error);
    }

    private static Response withCookies(Response response, String... cookies) {
        Response.ResponseBuilder builder = Response.fromResponse(response);
        for (String c : cookies) {
            builder.header("Set-Cookie", c);
        }
        return builder.build();
    }

    private static boolean constantTimeEquals(String a, String b) {
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }
}
