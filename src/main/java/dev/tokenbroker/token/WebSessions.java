package dev.tokenbroker.token;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.jwt.JsonWebToken;
import org.jboss.logging.Logger;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.session.AuthorizationTransactions.Transaction;
import dev.tokenbroker.session.SessionStore;
import dev.tokenbroker.session.WebSessionStore;
import dev.tokenbroker.session.WebSessionStore.WebSession;
import dev.tokenbroker.upstream.TokenIdentity;
import dev.tokenbroker.upstream.Upstreams;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

/**
 * Web mode (backend for frontend): the session is an ordinary broker session ({@link ExchangeCode},
 * {@link RefreshSession}, {@link EndSession}: rotation, single-flight refresh, reuse detection, back-channel logout
 * all apply) whose handle lives only in an HttpOnly cookie, plus a {@link WebSession} record with what the browser
 * may see: the user's claims and a short-lived access token. Every method takes the cookie's handle and answers
 * {@link BrokerException.NotSignedIn} when it is not the session's current one.
 */
@Singleton
public class WebSessions {

    private static final Logger LOG = Logger.getLogger(WebSessions.class);

    /** The ID token claims {@code /bff/user} shows, when present. */
    static final List<String> USER_CLAIMS = List.of(
            "sub", "name", "given_name", "family_name", "preferred_username", "email", "email_verified", "picture");

    /** A signed-in browser: the handle its cookie must hold, and where it goes next. {@link #toString()} is redacted. */
    public record SignedIn(String handle, String returnTo) {
        @Override
        public String toString() {
            return "SignedIn[]";
        }
    }

    /**
     * A session's access token, for the SPA or for the API proxy; {@code newHandle} is set when the cookie must change,
     * {@code client} is the session's. Redacted.
     */
    public record AccessToken(
            String accessToken,
            String tokenType,
            long expiresIn,
            String scope,
            String newHandle,
            RegisteredClient client) {
        @Override
        public String toString() {
            return "AccessToken[expires_in=" + expiresIn + ", rotated=" + (newHandle != null) + "]";
        }
    }

    /** Who gets an access token: the page ({@code /bff/token}), or the broker's API proxy on the page's behalf. */
    public enum Use {
        PAGE,
        PROXY
    }

    /** What {@code /bff/user} shows: claims and the session's deadline (epoch seconds). */
    public record User(Map<String, Object> claims, long sessionExpiresAt) {}

    private final ExchangeCode exchangeCode;
    private final RefreshSession refreshSession;
    private final EndSession endSession;
    private final TokenIdentity identity;
    private final Upstreams upstreams;
    private final WebSessionStore records;
    private final SessionStore sessions;
    private final Clients clients;
    private final SessionWork work;
    private final long refreshMarginMillis;

    WebSessions(
            ExchangeCode exchangeCode,
            RefreshSession refreshSession,
            EndSession endSession,
            TokenIdentity identity,
            Upstreams upstreams,
            WebSessionStore records,
            SessionStore sessions,
            Clients clients,
            SessionWork work,
            BrokerConfig config) {
        this.work = work;
        this.exchangeCode = exchangeCode;
        this.refreshSession = refreshSession;
        this.endSession = endSession;
        this.identity = identity;
        this.upstreams = upstreams;
        this.records = records;
        this.sessions = sessions;
        this.clients = clients;
        this.refreshMarginMillis = config.web().refreshMargin().toMillis();
    }

    /**
     * The callback's second half, after its {@code state} matched the browser's transaction cookie: exchanges the
     * code with the verifier the broker kept, verifies the ID token and its {@code nonce}, and opens the session.
     */
    /** See {@link Upstreams#checkAuthorizationResponseIssuer}: before a callback's code or error is used. */
    public void checkAuthorizationResponseIssuer(RegisteredClient client, String iss) {
        upstreams.checkAuthorizationResponseIssuer(client, iss);
    }

    public Uni<SignedIn> completeLogin(RegisteredClient client, Transaction transaction, String code) {
        // A browser that went away before its cookie was set holds no handle: the session ends at once.
        return work.outlivingCaller(
                () -> signIn(client, transaction, code), signedIn -> endSession.abandoned(client, signedIn.handle()));
    }

    private Uni<SignedIn> signIn(RegisteredClient client, Transaction transaction, String code) {
        return exchangeCode
                .exchange(new ExchangeCode.Request(
                        client, code, transaction.redirectUri(), transaction.codeVerifier(), null))
                .chain(result -> {
                    if (result.handle() == null) {
                        return Uni.createFrom()
                                .failure(
                                        new BrokerException.UpstreamRejectedBroker(
                                                "the upstream issued no refresh token: the client's scope needs offline_access"));
                    }
                    // Verifying may fetch the JWKS, a blocking call: on a worker thread.
                    return Uni.createFrom()
                            .item(() -> verified(client, transaction, result))
                            .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                            .chain(record -> records.put(sessionIdOf(result.handle()), record))
                            .map(stored -> new SignedIn(result.handle(), transaction.returnTo()))
                            // No session may outlive a failed login: the browser never got its cookie.
                            .onFailure()
                            .call(() -> endSession.loginRefused(client, result.handle()))
                            .call(() -> replaced(client, transaction));
                });
    }

    /**
     * The session of the cookie the browser held when it started this login ends (only if that handle is still its
     * session's, and of this client): one browser, one session. Best effort: the new login stands either way.
     */
    private Uni<Boolean> replaced(RegisteredClient client, Transaction transaction) {
        if (transaction.replaces() == null) {
            return Uni.createFrom().item(false);
        }
        return endSession
                .revoke(client, transaction.replaces(), null)
                .onFailure()
                .recoverWithItem(e -> {
                    LOG.warnf(
                            "Could not end the session a new login replaces: %s",
                            e.getClass().getSimpleName());
                    return false;
                });
    }

    private WebSession verified(RegisteredClient client, Transaction transaction, TokenResult result) {
        JsonWebToken idToken = identity.verifiedIdToken(result.idToken(), client);
        AuthorizationRequests.checkNonce(idToken, transaction);
        Map<String, Object> claims = new LinkedHashMap<>();
        for (String name : USER_CLAIMS) {
            Object value = idToken.getClaim(name);
            if (value != null) {
                claims.put(name, plain(value));
            }
        }
        return new WebSession(
                client.clientId(),
                Handles.parse(result.handle()).orElseThrow().secretHash(),
                result.idToken(),
                claims,
                result.accessToken(),
                result.tokenType(),
                expiresAt(result.expiresIn()),
                result.scope());
    }

    /** JSON-P values of SmallRye JWT as plain Java values, for Jackson. */
    private static Object plain(Object value) {
        if (value instanceof jakarta.json.JsonString s) {
            return s.getString();
        }
        if (value == jakarta.json.JsonValue.TRUE) {
            return true;
        }
        if (value == jakarta.json.JsonValue.FALSE) {
            return false;
        }
        if (value instanceof jakarta.json.JsonNumber n) {
            return n.numberValue();
        }
        return value instanceof String || value instanceof Number || value instanceof Boolean
                ? value
                : value.toString();
    }

    /** @param origin the request's {@code Origin}, or null when the browser sent none (same-origin GET) */
    public Uni<User> user(String handle, String origin) {
        Handles.Handle parsed = Handles.parse(handle).orElseThrow(WebSessions::notSignedIn);
        return current(parsed)
                .invoke(record -> webClient(record, origin))
                .chain(record -> sessions.info(parsed.sessionId())
                        .map(info -> info.map(i -> new User(record.claims(), i.expires() / 1000))
                                .orElseThrow(WebSessions::notSignedIn)));
    }

    /**
     * The access token the session holds while it lives longer than {@code broker.web.refresh-margin}; otherwise a
     * refresh through {@link RefreshSession} (one upstream call per session across replicas), whose rotated handle
     * the caller must put into the cookie. A cookie that is no longer current still goes to {@link RefreshSession},
     * which answers within the rotation grace and ends the session as stolen after it. A client with
     * {@code token-endpoint=off} gives its pages none (403).
     */
    public Uni<AccessToken> accessToken(String handle, String origin, Use use) {
        Handles.Handle parsed = Handles.parse(handle).orElseThrow(WebSessions::notSignedIn);
        String sessionId = parsed.sessionId();
        return records.get(sessionId).chain(found -> {
            WebSession record = found.orElseThrow(WebSessions::notSignedIn);
            RegisteredClient client = webClient(record, origin);
            if (use == Use.PAGE && !client.tokenEndpoint()) {
                throw new BrokerException.CrossSiteRefused(
                        "This client's pages get no access token (token-endpoint=off): call APIs through /bff/api/");
            }
            long now = System.currentTimeMillis();
            if (isCurrent(record, parsed) && record.accessExpiresAt() - now > refreshMarginMillis) {
                return Uni.createFrom()
                        .item(new AccessToken(
                                record.accessToken(),
                                record.tokenType(),
                                (record.accessExpiresAt() - now) / 1000,
                                record.scope(),
                                null,
                                client));
            }
            // The refresh and the record's update are owned work: a browser that hangs up meanwhile finds both done.
            return work.outlivingCaller(
                    () -> refreshed(client, record, handle, sessionId),
                    done -> Uni.createFrom().voidItem());
        });
    }

    private Uni<AccessToken> refreshed(RegisteredClient client, WebSession record, String handle, String sessionId) {
        return refreshSession
                .refresh(new RefreshSession.Request(client, handle, RequestedScope.whole(), null))
                .onFailure(BrokerException.InvalidGrant.class)
                .transform(e -> notSignedIn())
                .chain(result -> {
                    WebSession next = new WebSession(
                            record.clientId(),
                            Handles.parse(result.handle()).orElseThrow().secretHash(),
                            result.idToken() != null ? result.idToken() : record.idToken(),
                            record.claims(),
                            result.accessToken(),
                            result.tokenType(),
                            expiresAt(result.expiresIn()),
                            result.scope());
                    return records.put(sessionId, next)
                            .map(stored -> new AccessToken(
                                    result.accessToken(),
                                    result.tokenType(),
                                    result.expiresIn() == null ? 0 : result.expiresIn(),
                                    result.scope(),
                                    handle.equals(result.handle()) ? null : result.handle(),
                                    client));
                });
    }

    /**
     * Ends the session (upstream revocation included) and returns the upstream's {@code end_session_endpoint} URL with
     * {@code id_token_hint} and {@code post_logout_redirect_uri}, when the upstream has one. The cookie may hold the
     * handle just retired, within its grace (its rotated successor's {@code Set-Cookie} was lost): that too ends the
     * session, as at {@code /oauth2/revoke}. Any other handle ends nothing and gets no end-session URL.
     */
    public Uni<Optional<URI>> logout(String handle, String origin) {
        Optional<Handles.Handle> parsed = Handles.parse(handle);
        if (parsed.isEmpty()) {
            return Uni.createFrom().item(Optional.empty());
        }
        String sessionId = parsed.get().sessionId();
        // Owned work from the first read on: a page that navigates away as soon as it sent its logout is logged out.
        return work.outlivingCaller(
                () -> records.get(sessionId).chain(found -> {
                    if (found.isEmpty()) {
                        return Uni.createFrom().item(Optional.<URI>empty());
                    }
                    WebSession record = found.get();
                    RegisteredClient client = webClient(record, origin);
                    // The script that ends the session deletes its web-mode record too.
                    return endSession
                            .revoke(client, handle, null)
                            .map(ended -> ended ? endSessionUrl(client, record) : Optional.<URI>empty());
                }),
                url -> Uni.createFrom().voidItem());
    }

    private Optional<URI> endSessionUrl(RegisteredClient client, WebSession record) {
        return upstreams.endpointsOf(client).endSessionEndpoint().map(endpoint -> {
            StringBuilder url = new StringBuilder(endpoint.toString());
            url.append(endpoint.getRawQuery() == null ? '?' : '&');
            url.append("client_id=").append(encode(client.clientId()));
            if (record.idToken() != null) {
                url.append("&id_token_hint=").append(encode(record.idToken()));
            }
            client.postLogoutRedirectUri()
                    .ifPresent(uri -> url.append("&post_logout_redirect_uri=").append(encode(uri)));
            return URI.create(url.toString());
        });
    }

    private Uni<WebSession> current(Handles.Handle parsed) {
        return records.get(parsed.sessionId())
                .map(found -> found.filter(r -> isCurrent(r, parsed)).orElseThrow(WebSessions::notSignedIn));
    }

    /** The session's client, which must allow the request's origin (when the browser sent one). */
    private RegisteredClient webClient(WebSession record, String origin) {
        RegisteredClient client = clients.byClientId(record.clientId())
                .filter(c -> c.mode() == BrokerConfig.ClientMode.WEB)
                .orElseThrow(WebSessions::notSignedIn);
        if (origin != null && !client.allowedOrigins().contains(origin)) {
            throw new BrokerException.CrossSiteRefused("The request's Origin is not allowed");
        }
        return client;
    }

    private static boolean isCurrent(WebSession record, Handles.Handle handle) {
        return MessageDigest.isEqual(
                record.secretHash().getBytes(StandardCharsets.US_ASCII),
                handle.secretHash().getBytes(StandardCharsets.US_ASCII));
    }

    private static String sessionIdOf(String handle) {
        return Handles.parse(handle).map(Handles.Handle::sessionId).orElseThrow(WebSessions::notSignedIn);
    }

    private static long expiresAt(Long expiresIn) {
        return expiresIn == null ? 0 : System.currentTimeMillis() + expiresIn * 1000;
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    static BrokerException.NotSignedIn notSignedIn() {
        return new BrokerException.NotSignedIn("Not signed in");
    }
}
