package dev.tokenbroker.web;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WebClientResource;
import dev.tokenbroker.support.WebLogin;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.ExtractableResponse;
import io.restassured.response.Response;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;

import static dev.tokenbroker.support.WebLogin.LOGIN_COOKIE;
import static dev.tokenbroker.support.WebLogin.SESSION_COOKIE;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.emptyOrNullString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Web mode over real HTTP, without a browser: every acceptance and every refusal of {@code /bff/*}. */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
@WithTestResource(WebClientResource.class)
class BffTest {

    static String app() {
        return WebClientResource.appOrigin();
    }

    @Test
    void loginRedirectsToTheUpstreamWithStateNoncePkceAndSetsTheLoginCookie() {
        ExtractableResponse<Response> r = given().redirects()
                .follow(false)
                .queryParam("return_to", app() + "/page")
                .get("/bff/login")
                .then()
                .statusCode(302)
                .header("Cache-Control", "no-store")
                .extract();
        URI location = URI.create(r.header("Location"));
        assertTrue(location.getPath().endsWith("/connect/authorize"), location.toString());
        assertEquals(WebClientResource.CLIENT_ID, WebLogin.query(location, "client_id"));
        assertEquals(WebClientResource.brokerOrigin() + "/bff/callback", WebLogin.query(location, "redirect_uri"));
        assertEquals("S256", WebLogin.query(location, "code_challenge_method"));
        assertEquals(43, WebLogin.query(location, "code_challenge").length());
        assertEquals(43, WebLogin.query(location, "nonce").length());
        String state = WebLogin.query(location, "state");
        assertEquals(
                LOGIN_COOKIE + "=" + state + "; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600",
                WebLogin.setCookie(r, LOGIN_COOKIE));
    }

    @Test
    void callbackSetsAHostOnlySessionCookieAndRedirectsToReturnTo() {
        WebLogin.Started started = WebLogin.start(app() + "/page");
        ExtractableResponse<Response> r = WebLogin.callback(WebLogin.authorize(started), started.loginCookie());

        assertEquals(302, r.statusCode(), r.body().asString());
        assertEquals(app() + "/page", r.header("Location"));
        String session = WebLogin.setCookie(r, SESSION_COOKIE);
        assertNotNull(session);
        assertTrue(
                session.matches(
                        SESSION_COOKIE
                                + "=[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=\\d+"),
                session);
        assertFalse(session.contains("Domain"), session);
        assertTrue(WebLogin.setCookie(r, LOGIN_COOKIE).contains("Max-Age=0"), "the login cookie is cleared");
    }

    /**
     * RFC 9207: an authorization response that names another issuer than the client's upstream (here the second
     * upstream, {@code partner}, of the same broker) is refused, and no session begins; the right issuer passes.
     */
    @Test
    void aCallbackNamingAnotherUpstreamsIssuerIsRefused() {
        WebLogin.Started mixedUp = WebLogin.start(app() + "/page");
        ExtractableResponse<Response> refused = WebLogin.callback(
                withIssuer(WebLogin.authorize(mixedUp), MockUpstreamResource.PARTNER), mixedUp.loginCookie());
        assertEquals(400, refused.statusCode(), refused.body().asString());
        assertEquals("invalid_request", refused.path("error"));
        assertNull(refused.cookie(SESSION_COOKIE));

        WebLogin.Started twice = WebLogin.start(app() + "/page");
        URI genuineThenOther = withIssuer(WebLogin.authorize(twice), "connect");
        ExtractableResponse<Response> repeated = WebLogin.callback(
                URI.create(genuineThenOther + "&iss="
                        + URLEncoder.encode(
                                MockUpstreamResource.server()
                                        .issuerUrl(MockUpstreamResource.PARTNER)
                                        .toString(),
                                StandardCharsets.UTF_8)),
                twice.loginCookie());
        assertEquals(400, repeated.statusCode(), "a repeated iss is refused, whichever comes first");

        WebLogin.Started genuine = WebLogin.start(app() + "/page");
        ExtractableResponse<Response> accepted =
                WebLogin.callback(withIssuer(WebLogin.authorize(genuine), "connect"), genuine.loginCookie());
        assertEquals(302, accepted.statusCode(), accepted.body().asString());
        assertNotNull(WebLogin.setCookie(accepted, SESSION_COOKIE));
    }

    /** The callback with {@code iss} the issuer {@code issuerId} of the test upstream instead of any it carried. */
    private static URI withIssuer(URI callback, String issuerId) {
        String query = Arrays.stream(callback.getRawQuery().split("&"))
                .filter(pair -> !pair.startsWith("iss="))
                .collect(Collectors.joining("&"));
        String iss = URLEncoder.encode(
                MockUpstreamResource.server().issuerUrl(issuerId).toString(), StandardCharsets.UTF_8);
        return URI.create(callback.toString().replace(callback.getRawQuery(), query + "&iss=" + iss));
    }

    @Test
    void signedInBrowserReadsItsUserAndGetsAnAccessTokenButNeverAHandle() {
        String cookie = WebLogin.signIn(app() + "/");

        given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .get("/bff/user")
                .then()
                .statusCode(200)
                .header("Cache-Control", "no-store")
                .body("sub", not(emptyOrNullString()))
                .body("session_expires_at", org.hamcrest.Matchers.greaterThan((int)
                        (System.currentTimeMillis() / 1000)));
        ExtractableResponse<Response> token = given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .header("Origin", app())
                .post("/bff/token")
                .then()
                .statusCode(200)
                .header("Cache-Control", "no-store")
                .body("token_type", equalTo("Bearer"))
                .body("access_token", not(emptyOrNullString()))
                .extract();
        String body = token.asString();
        assertFalse(body.contains("refresh_token"), body);
        assertNull(token.header("Set-Cookie"), "a token with an hour to live is served from the session, no rotation");
        given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .header("Origin", app())
                .post("/bff/token")
                .then()
                .statusCode(200)
                .body("access_token", equalTo(token.path("access_token")));
        assertFalse(body.contains(cookie.substring(0, 22)), "no part of the handle in the body");
        // A copied cookie value is no refresh token for /oauth2/token: web sessions refresh only at /bff/token.
        Broker.token(Broker.params(
                        "grant_type",
                        "refresh_token",
                        "client_id",
                        WebClientResource.CLIENT_ID,
                        "refresh_token",
                        cookie))
                .statusCode(400)
                .body("error", equalTo("invalid_grant"));
    }

    @Test
    void accessTokenNearExpiryIsRefreshedThroughTheSessionAndTheCookieStays() {
        // The login's tokens live 5 s, within broker.web.refresh-margin (30 s): the first /bff/token refreshes.
        MockUpstreamResource.server()
                .enqueueCallback(new DefaultOAuth2TokenCallback(
                        "connect", "alice", "JWT", List.of(WebClientResource.CLIENT_ID), Map.of(), 5));
        String cookie = WebLogin.signIn(app() + "/");
        double alarmsBefore = reuseDetected();

        ExtractableResponse<Response> first = WebLogin.accessToken(cookie, app());
        assertNull(first.cookie(SESSION_COOKIE), "a web session's cookie does not rotate");
        // Past broker.session.rotation-grace (2 s here): with a rotating cookie whose Set-Cookie was lost, this
        // browser would now be logged out as a thief.
        sleep(2_500);
        ExtractableResponse<Response> later = WebLogin.accessToken(cookie, app());
        assertNull(later.cookie(SESSION_COOKIE));
        given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .get("/bff/user")
                .then()
                .statusCode(200)
                .body("sub", equalTo("alice"));
        assertEquals(alarmsBefore, reuseDetected(), "no theft alarm");
    }

    @Test
    void anIdTokenWithAnotherNonceThanTheBrokerSentEndsTheNewSessionAsAnInvalidLogin() {
        WebLogin.Started started = WebLogin.start(app() + "/");
        String nonce = WebLogin.query(started.authorizationUrl(), "nonce");
        // The upstream signs whatever nonce reaches it: here one the broker never sent.
        WebLogin.Started tampered = new WebLogin.Started(
                URI.create(started.authorizationUrl().toString().replace("nonce=" + nonce, "nonce=" + "n".repeat(43))),
                started.loginCookie());
        double before = endedFor("invalid_login");

        ExtractableResponse<Response> r = WebLogin.callback(WebLogin.authorize(tampered), started.loginCookie());

        assertNull(WebLogin.setCookie(r, SESSION_COOKIE), "no session cookie: " + r.statusCode());
        assertEquals(before + 1, endedFor("invalid_login"), "the session the exchange opened was ended");
    }

    private static double endedFor(String reason) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                        "(?m)^broker_sessions_ended_total\\{[^}]*reason=\"" + reason + "\"[^}]*} (\\S+)$")
                .matcher(dev.tokenbroker.support.Management.metrics());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    private static double reuseDetected() {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^broker_session_reuse_detected_total (\\S+)$")
                .matcher(dev.tokenbroker.support.Management.metrics());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void returnToOutsideTheAllowlistIsRefusedBeforeAnyRedirect() {
        for (String target : new String[] {
            "https://evil.example/",
            WebClientResource.evilOrigin() + "/",
            app() + ".evil.example/",
            "http://user@" + app().substring("http://".length()) + "/",
            "//evil.example/",
            "/relative",
            "javascript:alert(1)",
            WebClientResource.brokerOrigin() + "/other",
            app() + "/#fragment"
        }) {
            given().redirects()
                    .follow(false)
                    .queryParam("return_to", target)
                    .get("/bff/login")
                    .then()
                    .statusCode(400)
                    .body("error", equalTo("invalid_request"));
        }
    }

    @Test
    void forgedStateWithoutTheLoginCookieIsRefusedAndLeavesTheRealLoginUsable() {
        WebLogin.Started started = WebLogin.start(app() + "/");
        URI callback = WebLogin.authorize(started);

        ExtractableResponse<Response> noCookie = WebLogin.callback(callback, null);
        assertEquals(400, noCookie.statusCode());
        assertNull(WebLogin.setCookie(noCookie, SESSION_COOKIE));
        ExtractableResponse<Response> otherCookie =
                WebLogin.callback(callback, WebLogin.start(app() + "/").loginCookie());
        assertEquals(400, otherCookie.statusCode());
        assertNull(
                WebLogin.setCookie(otherCookie, WebLogin.LOGIN_COOKIE),
                "a callback with another login's state leaves this browser's login cookie alone");

        ExtractableResponse<Response> real = WebLogin.callback(callback, started.loginCookie());
        assertEquals(302, real.statusCode(), real.body().asString());
        assertNotNull(WebLogin.setCookie(real, SESSION_COOKIE));
    }

    @Test
    void replayedStateIsRefused() {
        WebLogin.Started started = WebLogin.start(app() + "/");
        URI callback = WebLogin.authorize(started);
        assertEquals(302, WebLogin.callback(callback, started.loginCookie()).statusCode());

        ExtractableResponse<Response> replay = WebLogin.callback(callback, started.loginCookie());
        assertEquals(400, replay.statusCode());
        assertEquals("invalid_grant", replay.path("error"));
        assertNull(WebLogin.setCookie(replay, SESSION_COOKIE));
    }

    @Test
    void upstreamErrorAnswerGoesBackToTheAppWithTheErrorAndNoSession() {
        WebLogin.Started started = WebLogin.start(app() + "/page?x=1");
        URI denied = URI.create(
                WebClientResource.brokerOrigin() + "/bff/callback?error=access_denied&state=" + started.state());
        ExtractableResponse<Response> r = WebLogin.callback(denied, started.loginCookie());
        assertEquals(302, r.statusCode());
        assertEquals(app() + "/page?x=1&error=access_denied", r.header("Location"));
        assertNull(WebLogin.setCookie(r, SESSION_COOKIE));

        URI odd = URI.create(WebClientResource.brokerOrigin() + "/bff/callback?error=%3Cscript%3E&state="
                + WebLogin.start(app() + "/").state());
        // The state's transaction was consumed by the denial above; this one is another login's, without its cookie.
        assertEquals(400, WebLogin.callback(odd, started.loginCookie()).statusCode());
    }

    @Test
    void callsWithoutTheCsrfHeaderOrFromAnotherOriginAreRefused() {
        String cookie = WebLogin.signIn(app() + "/");

        given().cookie(SESSION_COOKIE, cookie)
                .get("/bff/user")
                .then()
                .statusCode(403)
                .body("error", equalTo("access_denied"));
        given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .header("Origin", WebClientResource.evilOrigin())
                .get("/bff/user")
                .then()
                .statusCode(403);
        // A form POST: no custom header.
        given().cookie(SESSION_COOKIE, cookie)
                .header("Origin", app())
                .contentType("application/x-www-form-urlencoded")
                .formParam("a", "b")
                .post("/bff/token")
                .then()
                .statusCode(403);
        given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .post("/bff/token")
                .then()
                .statusCode(403);
        given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .header("Origin", WebClientResource.evilOrigin())
                .post("/bff/token")
                .then()
                .statusCode(403);
        given().cookie(SESSION_COOKIE, cookie)
                .header("Origin", WebClientResource.evilOrigin())
                .post("/bff/logout")
                .then()
                .statusCode(403);
        // After all that the session is intact.
        given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .get("/bff/user")
                .then()
                .statusCode(200);
    }

    @Test
    void withoutASessionCookieTheAnswerIs401() {
        given().header("X-CSRF", "1").get("/bff/user").then().statusCode(401).body("error", equalTo("login_required"));
        given().header("X-CSRF", "1")
                .header("Origin", app())
                .post("/bff/token")
                .then()
                .statusCode(401);
        given().cookie(SESSION_COOKIE, "not-a-handle")
                .header("X-CSRF", "1")
                .get("/bff/user")
                .then()
                .statusCode(401);
    }

    @Test
    void logoutEndsTheSessionClearsTheCookiesAndReturnsTheUpstreamLogoutUrl() {
        String cookie = WebLogin.signIn(app() + "/");

        ExtractableResponse<Response> r = given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .header("Origin", app())
                .post("/bff/logout")
                .then()
                .statusCode(200)
                .extract();
        URI endSession = URI.create(r.path("end_session_url"));
        assertTrue(endSession.getPath().endsWith("/connect/endsession"), endSession.toString());
        assertNotNull(WebLogin.query(endSession, "id_token_hint"));
        assertEquals(app() + "/", WebLogin.query(endSession, "post_logout_redirect_uri"));
        assertTrue(WebLogin.setCookie(r, SESSION_COOKIE).contains("Max-Age=0"));

        given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .get("/bff/user")
                .then()
                .statusCode(401);
        given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .header("Origin", app())
                .post("/bff/token")
                .then()
                .statusCode(401);
    }

    @Test
    void aNewLoginInABrowserThatStillHoldsASessionEndsThatSession() {
        String first = WebLogin.signIn(app() + "/");

        WebLogin.Started again = WebLogin.start(app() + "/", first);
        String second = WebLogin.callback(WebLogin.authorize(again), again.loginCookie())
                .cookie(SESSION_COOKIE);

        assertNotNull(second);
        assertNotEquals(first.substring(0, 22), second.substring(0, 22), "a new session");
        given().cookie(SESSION_COOKIE, second)
                .header("X-CSRF", "1")
                .get("/bff/user")
                .then()
                .statusCode(200);
        given().cookie(SESSION_COOKIE, first)
                .header("X-CSRF", "1")
                .get("/bff/user")
                .then()
                .statusCode(401);
    }

    @Test
    void corsPreflightFromTheAppOriginListsExactlyWhatBffAccepts() {
        given().header("Origin", app())
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "x-csrf")
                .options("/bff/token")
                .then()
                .statusCode(204)
                .header("Access-Control-Allow-Origin", app())
                .header("Access-Control-Allow-Credentials", "true")
                .header("Access-Control-Allow-Methods", "GET, POST")
                .header("Access-Control-Allow-Headers", "X-CSRF");
        given().header("Origin", app())
                .header("Access-Control-Request-Method", "POST")
                .options("/oauth2/token")
                .then()
                .statusCode(204)
                .header("Access-Control-Allow-Origin", app())
                .header("Access-Control-Allow-Credentials", (String) null)
                .header("Access-Control-Allow-Methods", "POST")
                .header("Access-Control-Allow-Headers", "Content-Type, DPoP");
    }

    @Test
    void unknownOriginsGetNoCorsHeaders() {
        given().header("Origin", WebClientResource.evilOrigin())
                .header("Access-Control-Request-Method", "POST")
                .options("/bff/token")
                .then()
                .statusCode(403)
                .header("Access-Control-Allow-Origin", (String) null);
        given().header("Origin", WebClientResource.evilOrigin())
                .header("X-CSRF", "1")
                .get("/bff/user")
                .then()
                .header("Access-Control-Allow-Origin", (String) null);
        given().header("Origin", WebClientResource.evilOrigin())
                .contentType("application/x-www-form-urlencoded")
                .formParam("grant_type", "refresh_token")
                .post("/oauth2/token")
                .then()
                .header("Access-Control-Allow-Origin", (String) null);
        // The mobile client allows the app origin for /oauth2/*, but it is no web client: no credentials at /bff/*.
        given().header("Origin", app())
                .contentType("application/x-www-form-urlencoded")
                .formParam("grant_type", "refresh_token")
                .post("/oauth2/token")
                .then()
                .header("Access-Control-Allow-Origin", app());
    }
}
