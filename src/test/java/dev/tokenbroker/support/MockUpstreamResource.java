package dev.tokenbroker.support;

import java.net.InetAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import okhttp3.mockwebserver.RecordedRequest;

import static io.restassured.RestAssured.given;

/**
 * A real OpenID provider (mock-oauth2-server) as the upstream. Issuer id {@code connect} gives the Duende
 * layout {@code /connect/token}; the broker finds it through discovery. Issuer id {@code partner}, with its own
 * signing key, is a second upstream ({@code broker.upstreams.partner}) with one client, {@link #PARTNER_CLIENT}.
 */
public class MockUpstreamResource implements QuarkusTestResourceLifecycleManager {

    private static MockOAuth2Server server;

    public static final String PARTNER = "partner";
    public static final String PARTNER_CLIENT = "clover-partner";
    public static final String PARTNER_REDIRECT = "clover-partner://cb";

    private boolean interactiveLogin;

    /** {@code interactive-login=true}: the authorization endpoint shows a login form, as a person would see it. */
    @Override
    public void init(Map<String, String> initArgs) {
        interactiveLogin = Boolean.parseBoolean(initArgs.getOrDefault("interactive-login", "false"));
    }

    @Override
    public Map<String, String> start() {
        server = new MockOAuth2Server(new OAuth2Config(interactiveLogin));
        try {
            server.start(InetAddress.getLoopbackAddress(), 0);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return Map.of(
                "broker.upstream.issuer",
                server.issuerUrl("connect").toString(),
                "broker.upstreams.partner.issuer",
                server.issuerUrl(PARTNER).toString(),
                "broker.clients.partner.client-id",
                PARTNER_CLIENT,
                "broker.clients.partner.client-secret",
                "partner-secret-1234",
                "broker.clients.partner.redirect-uris",
                PARTNER_REDIRECT,
                "broker.clients.partner.upstream",
                PARTNER);
    }

    @Override
    public void stop() {
        server.shutdown();
    }

    public static MockOAuth2Server server() {
        return server;
    }

    /** The next request the upstream received, or null after the wait (mock-oauth2-server throws instead). */
    public static RecordedRequest poll(long millis) {
        return poll(server, millis);
    }

    /** The same at {@code upstream}. */
    public static RecordedRequest poll(MockOAuth2Server upstream, long millis) {
        try {
            return upstream.takeRequest(millis, TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Forgets what the upstream recorded so far. */
    public static void drainRecordedRequests() {
        for (int i = 0; i < 100_000 && poll(1) != null; i++) {
            // discard
        }
    }

    /**
     * Refresh tokens the upstream was asked to revoke, as it recorded them, until it records nothing for 2 s (upstream
     * revocation runs after the broker answered).
     */
    public static java.util.List<String> revokedRefreshTokens() {
        java.util.List<String> tokens = new java.util.ArrayList<>();
        RecordedRequest request;
        for (int i = 0; i < 100_000 && (request = poll(2000)) != null; i++) {
            if (request.getPath().endsWith("/revoke")) {
                for (String pair : request.getBody().readUtf8().split("&")) {
                    if (pair.startsWith("token=")) {
                        tokens.add(URLDecoder.decode(pair.substring(6), StandardCharsets.UTF_8));
                    }
                }
            }
        }
        return tokens;
    }

    /**
     * Signs {@code subject} in at the upstream (its tokens carry {@code claims}, e.g. {@code sid}) and redeems the code
     * at the broker, as a front end does; returns the broker handle.
     */
    public static String signIn(String clientId, String redirectUri, String subject, Map<String, Object> claims)
            throws Exception {
        return signIn("connect", clientId, redirectUri, subject, claims);
    }

    /** The same at the issuer {@code issuerId} of this server. */
    public static String signIn(
            String issuerId, String clientId, String redirectUri, String subject, Map<String, Object> claims)
            throws Exception {
        server.enqueueCallback(new DefaultOAuth2TokenCallback(issuerId, subject, "JWT", null, claims, 3600));
        String code = authorize(server, issuerId, clientId, redirectUri, Broker.VERIFIER);
        return Broker.exchange(clientId, code, redirectUri, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
    }

    /** Runs the front end's half of the PKCE authorization request, as a browser would, and returns the code. */
    public static String authorize(String clientId, String redirectUri, String verifier) throws Exception {
        return authorize(server, clientId, redirectUri, verifier);
    }

    /** The same at {@code upstream}, over http or https (whatever its certificate). */
    public static String authorize(MockOAuth2Server upstream, String clientId, String redirectUri, String verifier)
            throws Exception {
        return authorize(upstream, "connect", clientId, redirectUri, verifier);
    }

    private static String authorize(
            MockOAuth2Server upstream, String issuerId, String clientId, String redirectUri, String verifier)
            throws Exception {
        String challenge = Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(
                        MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII)));
        String location = given().relaxedHTTPSValidation()
                .redirects()
                .follow(false)
                .queryParam("client_id", clientId)
                .queryParam("response_type", "code")
                .queryParam("redirect_uri", redirectUri)
                .queryParam("scope", "openid offline_access")
                .queryParam("state", "s1")
                .queryParam("code_challenge", challenge)
                .queryParam("code_challenge_method", "S256")
                .get(upstream.authorizationEndpointUrl(issuerId).toString())
                .then()
                .statusCode(302)
                .extract()
                .header("Location");
        for (String pair : URI.create(location).getRawQuery().split("&")) {
            if (pair.startsWith("code=")) {
                return URLDecoder.decode(pair.substring(5), StandardCharsets.UTF_8);
            }
        }
        throw new AssertionError("no code in " + location);
    }
}
