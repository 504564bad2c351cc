package dev.tokenbroker.web;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.ApiStubResource;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WebClientResource;
import dev.tokenbroker.support.WebLogin;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.ExtractableResponse;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The BFF's API proxy over real HTTP, to a real resource server on loopback ({@link ApiStubResource}): the session's
 * access token goes to the API and nothing else of the browser's credentials does; answers stream back with only
 * their allowed headers, and {@code Proxy-Status} says whether the broker or the API gave them. The client is a pure
 * BFF ({@code token-endpoint=off}): its pages can get no token from the broker.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
@WithTestResource(WebClientResource.class)
@WithTestResource(ApiStubResource.class)
class BffApiProxyTest {

    static final String APP = WebClientResource.appOrigin();

    @Test
    void aGetWithAQueryReachesTheApiWithTheSessionsAccessTokenAndNoneOfTheBrowsersCredentials() {
        String cookie = WebLogin.signIn(APP + "/");
        ExtractableResponse<Response> answer = fromPage(cookie)
                .get("/bff/api/orders/echo?status=open&page=2")
                .then()
                .statusCode(200)
                .header("Proxy-Status", "token-broker; received-status=200")
                .header("ETag", "\"v1\"")
                .body("method", equalTo("GET"))
                .body("uri", equalTo("/v1/echo?status=open&page=2"))
                .body("authorization", startsWith("Bearer ey"))
                .body("cookie", nullValue())
                .body("csrf", nullValue())
                .body("origin", nullValue())
                .extract();
        assertNull(answer.header("X-Internal"), "only the configured response headers reach the browser");
        assertNull(WebLogin.setCookie(answer, "api-session"), "the API's cookies never reach the browser");
    }

    @Test
    void aPostWithAJsonBodyIsPassedOnAsIs() {
        String cookie = WebLogin.signIn(APP + "/");
        String order = "{\"item\":\"coffee\",\"quantity\":2}";
        fromPage(cookie)
                .contentType("application/json")
                .body(order)
                .post("/bff/api/orders/echo")
                .then()
                .statusCode(200)
                .body("method", equalTo("POST"))
                .body("contentType", equalTo("application/json"))
                .body("body", equalTo(order));
    }

    @Test
    void aBodyOverTheBrokersOwn16KiBLimitReachesTheApiUpToItsMaxRequestBody() {
        String cookie = WebLogin.signIn(APP + "/");
        String upload = "x".repeat(100 * 1024);
        fromPage(cookie)
                .contentType("text/plain")
                .body(upload)
                .put("/bff/api/orders/echo")
                .then()
                .statusCode(200)
                .body("body.length()", equalTo(upload.length()));
    }

    @Test
    void answersArePrivateToTheUserAndPathsThatCouldLeaveTheApiAreRefused() throws IOException {
        String cookie = WebLogin.signIn(APP + "/");
        fromPage(cookie).get("/bff/api/orders/echo").then().statusCode(200).header("Cache-Control", "private");
        // Sent byte for byte (an HTTP client library would encode or normalise them): refused by the broker, 400, or
        // 404 where the router's own path normalisation stops it first; never forwarded (no received-status).
        for (String path : List.of(
                "/bff/api/orders/..;/admin", "/bff/api/orders/..%3B/admin", "/bff/api/orders//elsewhere.example/x")) {
            String head = raw(cookie, "GET", path, "", "");
            assertTrue(head.startsWith("HTTP/1.1 400") || head.startsWith("HTTP/1.1 404"), path + ": " + head);
            assertTrue(!head.contains("received-status"), path + " reached the API: " + head);
        }
        // A cookie that is no handle at all: the broker's own 401, not a 500.
        given().cookie(WebLogin.SESSION_COOKIE, "x")
                .header("X-CSRF", "1")
                .get("/bff/api/orders/echo")
                .then()
                .statusCode(401)
                .body("error", equalTo("login_required"));
    }

    @Test
    void aMegabyteStreamsThroughByteForByte() {
        String cookie = WebLogin.signIn(APP + "/");
        byte[] body = fromPage(cookie)
                .get("/bff/api/orders/big")
                .then()
                .statusCode(200)
                .extract()
                .asByteArray();
        byte[] expected = new byte[ApiStubResource.BIG];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = (byte) (i % 251);
        }
        assertArrayEquals(expected, body);
    }

    @Test
    void theApisOwn401IsTellableFromTheBrokersOwn() {
        String cookie = WebLogin.signIn(APP + "/");
        fromPage(cookie)
                .get("/bff/api/orders/unauthorized")
                .then()
                .statusCode(401)
                .header("Proxy-Status", "token-broker; received-status=401")
                .header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        given().header("X-CSRF", "1")
                .get("/bff/api/orders/echo")
                .then()
                .statusCode(401)
                .header("Proxy-Status", "token-broker; error=http_request_denied")
                .body("error", equalTo("login_required"));
    }

    @Test
    void proxiedPathsShareOneHttpMetricSeriesWhateverTheApiPath() {
        String cookie = WebLogin.signIn(APP + "/");
        // Whatever the API answers (a path it does not know, here), the call is counted.
        fromPage(cookie).get("/bff/api/orders/items/" + UUID.randomUUID());

        List<String> series = Management.metrics()
                .lines()
                .filter(l -> l.startsWith("http_server_requests_seconds_count{"))
                .toList();
        assertTrue(series.stream().anyMatch(l -> l.contains("uri=\"/bff/api/*\"")), series.toString());
        assertTrue(
                series.stream().noneMatch(l -> l.contains("uri=\"/bff/api/") && !l.contains("uri=\"/bff/api/*\"")),
                "an API path of its own in http_server_requests (one series per path, without bound): " + series);
    }

    @Test
    void aRedirectGoesToTheBrowserAndIsNeverFollowed() {
        String cookie = WebLogin.signIn(APP + "/");
        fromPage(cookie)
                .redirects()
                .follow(false)
                .get("/bff/api/orders/redirect")
                .then()
                .statusCode(302)
                .header("Location", "https://elsewhere.example/landing")
                .header("Proxy-Status", "token-broker; received-status=302");
    }

    @Test
    void theCsrfHeaderAndAnAllowedOriginAreRequiredAsEverywhereUnderBff() {
        String cookie = WebLogin.signIn(APP + "/");
        given().cookie(WebLogin.SESSION_COOKIE, cookie)
                .get("/bff/api/orders/echo")
                .then()
                .statusCode(403)
                .body("error", equalTo("access_denied"));
        given().cookie(WebLogin.SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .header("Origin", WebClientResource.evilOrigin())
                .get("/bff/api/orders/echo")
                .then()
                .statusCode(403);
        given().cookie(WebLogin.SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .body("{}")
                .post("/bff/api/orders/echo")
                .then()
                .statusCode(403)
                .header("Proxy-Status", "token-broker; error=http_request_denied");
    }

    @Test
    void eachApisOwnLimitsHold() throws Exception {
        String cookie = WebLogin.signIn(APP + "/");
        fromPage(cookie).get("/bff/api/nosuch/echo").then().statusCode(404);
        fromPage(cookie)
                .body("{}")
                .post("/bff/api/readonly/echo")
                .then()
                .statusCode(405)
                .header("Allow", "GET");
        fromPage(cookie).body("x".repeat(101)).post("/bff/api/tiny/echo").then().statusCode(413);
        assertTrue(
                raw(cookie, "POST", "/bff/api/orders/echo", "Transfer-Encoding: chunked\r\n", "2\r\n{}\r\n0\r\n\r\n")
                        .startsWith("HTTP/1.1 411"),
                "a body of unknown length is refused");
        fromPage(cookie)
                .get("/bff/api/slow/slow")
                .then()
                .statusCode(504)
                .header("Proxy-Status", "token-broker; error=http_response_timeout");
    }

    @Test
    void aPureBffsPagesGetNoTokenAndAfterLogoutNothingIsProxied() {
        String cookie = WebLogin.signIn(APP + "/");
        fromPage(cookie).post("/bff/token").then().statusCode(403).body("error", equalTo("access_denied"));
        fromPage(cookie).get("/bff/api/orders/echo").then().statusCode(200);
        fromPage(cookie).post("/bff/logout").then().statusCode(200);
        fromPage(cookie).get("/bff/api/orders/echo").then().statusCode(401).body("error", equalTo("login_required"));
    }

    /** A request as the SPA sends it, written byte for byte over a raw socket; returns the answer's head. */
    private static String raw(String cookie, String method, String path, String extraHeaders, String body)
            throws IOException {
        try (Socket socket = new Socket("localhost", RestAssured.port)) {
            String request = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nCookie: " + WebLogin.SESSION_COOKIE
                    + "=" + cookie + "\r\nX-CSRF: 1\r\nOrigin: " + APP + "\r\n" + extraHeaders
                    + "Connection: close\r\n\r\n" + body;
            socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            BufferedReader in =
                    new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            StringBuilder head = new StringBuilder();
            for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
                head.append(line).append('\n');
            }
            return head.toString();
        }
    }

    /** A call as the SPA's script makes it: the session cookie, X-CSRF, and the page's Origin. */
    private static RequestSpecification fromPage(String cookie) {
        return given().cookie(WebLogin.SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .header("Origin", APP);
    }
}
