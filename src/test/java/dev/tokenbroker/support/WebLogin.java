package dev.tokenbroker.support;

import java.net.URI;
import java.util.List;

import io.restassured.response.ExtractableResponse;
import io.restassured.response.Response;

import static io.restassured.RestAssured.given;

/** The browser's side of a web-mode login, step by step, over real HTTP (no redirects followed by themselves). */
public final class WebLogin {

    public static final String SESSION_COOKIE = "__Host-tb-session";
    public static final String LOGIN_COOKIE = "__Host-tb-login";

    private WebLogin() {}

    /** {@code GET /bff/login}: the upstream authorization URL and the login cookie the broker set. */
    public record Started(URI authorizationUrl, String loginCookie) {
        public String state() {
            return query(authorizationUrl, "state");
        }
    }

    public static Started start(String returnTo) {
        return start(returnTo, null);
    }

    /** The same from a browser that still holds the session cookie {@code session} (null: none). */
    public static Started start(String returnTo, String session) {
        var request = given().redirects().follow(false).queryParam("return_to", returnTo);
        if (session != null) {
            request.cookie(SESSION_COOKIE, session);
        }
        ExtractableResponse<Response> r =
                request.get("/bff/login").then().statusCode(302).extract();
        return new Started(URI.create(r.header("Location")), r.cookie(LOGIN_COOKIE));
    }

    /** The upstream signs the user in at once (non-interactive mock) and answers with the redirect to the callback. */
    public static URI authorize(Started started) {
        String location = given().redirects()
                .follow(false)
                .urlEncodingEnabled(false)
                .get(started.authorizationUrl().toString())
                .then()
                .statusCode(302)
                .extract()
                .header("Location");
        return URI.create(location);
    }

    /** {@code GET /bff/callback} as the browser sends it: with the login cookie, when given. */
    public static ExtractableResponse<Response> callback(URI callback, String loginCookie) {
        var request = given().redirects().follow(false).urlEncodingEnabled(false);
        if (loginCookie != null) {
            request.cookie(LOGIN_COOKIE, loginCookie);
        }
        return request.get(callback.toString()).then().extract();
    }

    /** A whole login; returns the session cookie's value. */
    public static String signIn(String returnTo) {
        Started started = start(returnTo);
        ExtractableResponse<Response> r = callback(authorize(started), started.loginCookie());
        if (r.statusCode() != 302 || r.cookie(SESSION_COOKIE) == null) {
            throw new AssertionError(
                    "login failed: " + r.statusCode() + " " + r.body().asString());
        }
        return r.cookie(SESSION_COOKIE);
    }

    /** {@code POST /bff/token} as the SPA sends it, from {@code origin}; the answer must be 200. */
    public static ExtractableResponse<Response> accessToken(String cookie, String origin) {
        return given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .header("Origin", origin)
                .post("/bff/token")
                .then()
                .statusCode(200)
                .extract();
    }

    /** The Set-Cookie header that sets this cookie, or null. */
    public static String setCookie(ExtractableResponse<Response> response, String name) {
        List<String> all = response.headers().getValues("Set-Cookie");
        return all.stream().filter(c -> c.startsWith(name + "=")).findFirst().orElse(null);
    }

    public static String query(URI uri, String name) {
        for (String pair : uri.getRawQuery().split("&")) {
            if (pair.startsWith(name + "=")) {
                return java.net.URLDecoder.decode(
                        pair.substring(name.length() + 1), java.nio.charset.StandardCharsets.UTF_8);
            }
        }
        return null;
    }
}
