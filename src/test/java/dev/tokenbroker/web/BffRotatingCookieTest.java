package dev.tokenbroker.web;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WebClientResource;
import dev.tokenbroker.support.WebLogin;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.ExtractableResponse;
import io.restassured.response.Response;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;

import static dev.tokenbroker.support.WebLogin.SESSION_COOKIE;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Web mode for a client that opted into rotating its session cookie ({@code rotate-handles=true}). */
@QuarkusTest
@TestProfile(BffRotatingCookieTest.RotatingCookie.class)
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
@WithTestResource(WebClientResource.class)
class BffRotatingCookieTest {

    public static class RotatingCookie implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("broker.clients.spa.rotate-handles", "true");
        }
    }

    @Test
    void accessTokenNearExpiryIsRefreshedThroughTheSessionAndTheCookieFollowsTheRotatedHandle() {
        // The login's tokens live 5 s, within broker.web.refresh-margin (30 s): the first /bff/token refreshes.
        MockUpstreamResource.server()
                .enqueueCallback(new DefaultOAuth2TokenCallback(
                        "connect", "alice", "JWT", List.of(WebClientResource.CLIENT_ID), Map.of(), 5));
        String cookie = WebLogin.signIn(BffTest.app() + "/");

        ExtractableResponse<Response> first = WebLogin.accessToken(cookie, BffTest.app());
        String rotated = first.cookie(SESSION_COOKIE);
        assertNotNull(rotated, "the rotated handle goes into the cookie");
        assertNotEquals(cookie, rotated);
        assertEquals(cookie.substring(0, 22), rotated.substring(0, 22), "same session, new secret");
        // mock-oauth2-server keeps the 5 s lifetime for refreshed tokens too, so the next call goes to RefreshSession
        // again, which answers within broker.session.refresh-reuse-window with the result it just produced.
        ExtractableResponse<Response> second = WebLogin.accessToken(rotated, BffTest.app());
        assertEquals(first.<String>path("access_token"), second.path("access_token"));
        assertNull(second.cookie(SESSION_COOKIE), "the same handle: the cookie stays");
        // The cookie from before the rotation no longer reads the user.
        given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .get("/bff/user")
                .then()
                .statusCode(401);
        given().cookie(SESSION_COOKIE, rotated)
                .header("X-CSRF", "1")
                .get("/bff/user")
                .then()
                .statusCode(200)
                .body("sub", equalTo("alice"));
    }

    @Test
    void logoutWithTheCookieFromBeforeARotationWhoseAnswerWasLostEndsTheSession() {
        MockUpstreamResource.server()
                .enqueueCallback(new DefaultOAuth2TokenCallback(
                        "connect", "alice", "JWT", List.of(WebClientResource.CLIENT_ID), Map.of(), 5));
        String cookie = WebLogin.signIn(BffTest.app() + "/");
        // The refresh rotates the handle; its Set-Cookie never reaches the browser, which keeps the old cookie.
        String rotated = WebLogin.accessToken(cookie, BffTest.app()).cookie(SESSION_COOKIE);
        assertNotNull(rotated);

        ExtractableResponse<Response> r = given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .header("Origin", BffTest.app())
                .post("/bff/logout")
                .then()
                .statusCode(200)
                .extract();
        assertNotNull(r.path("end_session_url"), "the session ended, so the upstream logout follows");

        given().cookie(SESSION_COOKIE, rotated)
                .header("X-CSRF", "1")
                .get("/bff/user")
                .then()
                .statusCode(401);
    }
}
