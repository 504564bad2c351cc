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
import okhttp3.mockwebserver.RecordedRequest;

import static io.restassured.RestAssured.given;

/**
 * A real OpenID provider (mock-oauth2-server) as the upstream. Issuer id {@code connect} gives the Duende
 * layout {@code /connect/token}; the broker finds it through discovery.
 */
public class MockUpstreamResource implements QuarkusTestResourceLifecycleManager {

    private static MockOAuth2Server server;

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
        return Map.of("broker.upstream.issuer", server.issuerUrl("connect").toString());
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
        try {
            return server.takeRequest(millis, TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Runs the front end's half of the PKCE authorization request, as a browser would, and returns the code. */
    public static String authorize(String clientId, String redirectUri, String verifier) throws Exception {
        String challenge = Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(
                        MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII)));
        String location = given().redirects()
                .follow(false)
                .queryParam("client_id", clientId)
                .queryParam("response_type", "code")
                .queryParam("redirect_uri", redirectUri)
                .queryParam("scope", "openid offline_access")
                .queryParam("state", "s1")
                .queryParam("code_challenge", challenge)
                .queryParam("code_challenge_method", "S256")
                .get(server.authorizationEndpointUrl("connect").toString())
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
