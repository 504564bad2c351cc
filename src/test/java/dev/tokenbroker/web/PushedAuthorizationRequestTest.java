package dev.tokenbroker.web;

import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;

import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WebLogin;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.ValidatableResponse;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Pushed authorization requests (RFC 9126) for the logins the broker starts: with an upstream that advertises
 * {@code pushed_authorization_request_endpoint}, the broker posts the request's parameters there, authenticated as the
 * client, and the browser carries only {@code client_id} and {@code request_uri}. The upstream is WireMock with the
 * bytes of RFC 9126 §2.2's example answer.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(PushedAuthorizationRequestTest.ParUpstream.class)
class PushedAuthorizationRequestTest {

    static final String REQUEST_URI = "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c";
    static final String REDIRECT = "clover-bp://cb";

    /** Discovery, a JWKS and a PAR endpoint that answers 201, or 400 for the client it refuses. */
    public static class ParUpstream implements QuarkusTestResourceLifecycleManager {

        static WireMockServer server;

        @Override
        public Map<String, String> start() {
            server = new WireMockServer(
                    WireMockConfiguration.options().bindAddress("127.0.0.1").dynamicPort());
            server.start();
            String base = server.baseUrl();
            server.stubFor(get(urlEqualTo("/.well-known/openid-configuration"))
                    .willReturn(aResponse()
                            .withHeader("Content-Type", "application/json")
                            .withBody("{\"issuer\":\"" + base + "\",\"token_endpoint\":\"" + base + "/token\","
                                    + "\"jwks_uri\":\"" + base + "/jwks\",\"authorization_endpoint\":\"" + base
                                    + "/authorize\",\"pushed_authorization_request_endpoint\":\"" + base + "/par\"}")));
            server.stubFor(get(urlEqualTo("/jwks"))
                    .willReturn(aResponse()
                            .withHeader("Content-Type", "application/json")
                            .withBody("{\"keys\":[]}")));
            server.stubFor(post(urlEqualTo("/par"))
                    .willReturn(aResponse()
                            .withStatus(201)
                            .withHeader("Content-Type", "application/json")
                            .withHeader("Cache-Control", "no-cache, no-store")
                            .withBody("{\"request_uri\":\"" + REQUEST_URI + "\",\"expires_in\":60}")));
            server.stubFor(post(urlEqualTo("/par"))
                    .withRequestBody(containing("client_id=clover-par-refused"))
                    .willReturn(aResponse()
                            .withStatus(400)
                            .withHeader("Content-Type", "application/json")
                            .withBody("{\"error\":\"invalid_request\",\"error_description\":\"redirect_uri\"}")));
            server.stubFor(post(urlEqualTo("/par"))
                    .withRequestBody(containing("client_id=clover-par-grant"))
                    .willReturn(aResponse()
                            .withStatus(400)
                            .withHeader("Content-Type", "application/json")
                            .withBody("{\"error\":\"invalid_grant\"}")));
            // Answers after half a second: time for an app to hang up while the push is under way.
            server.stubFor(post(urlEqualTo("/par"))
                    .withRequestBody(containing("client_id=clover-par-slow"))
                    .willReturn(aResponse()
                            .withStatus(201)
                            .withFixedDelay(500)
                            .withHeader("Content-Type", "application/json")
                            .withBody("{\"request_uri\":\"" + REQUEST_URI + "\",\"expires_in\":60}")));
            return Map.ofEntries(
                    // At most 8 / 4 = 2 pushes wait at once.
                    Map.entry("broker.upstream.connection-pool-size", "8"),
                    Map.entry("broker.clients.slow.client-id", "clover-par-slow"),
                    Map.entry("broker.clients.slow.client-secret", "slow-secret"),
                    Map.entry("broker.clients.slow.redirect-uris", REDIRECT),
                    Map.entry("broker.clients.slow.pkce", "broker"),
                    Map.entry("broker.clients.post.client-id", "clover-par-post"),
                    Map.entry("broker.clients.post.client-secret", "post-secret"),
                    Map.entry("broker.clients.post.auth-method", "client_secret_post"),
                    Map.entry("broker.clients.post.redirect-uris", REDIRECT),
                    Map.entry("broker.clients.post.pkce", "broker"),
                    Map.entry("broker.clients.grant.client-id", "clover-par-grant"),
                    Map.entry("broker.clients.grant.client-secret", "grant-secret"),
                    Map.entry("broker.clients.grant.redirect-uris", REDIRECT),
                    Map.entry("broker.clients.grant.pkce", "broker"),
                    Map.entry("broker.upstream.issuer", base),
                    Map.entry("broker.clients.nopar.client-id", "clover-no-par"),
                    Map.entry("broker.clients.nopar.client-secret", "no-par-secret"),
                    Map.entry("broker.clients.nopar.redirect-uris", REDIRECT),
                    Map.entry("broker.clients.nopar.pkce", "broker"),
                    Map.entry("broker.clients.nopar.par", "off"),
                    Map.entry("broker.clients.refused.client-id", "clover-par-refused"),
                    Map.entry("broker.clients.refused.client-secret", "refused-secret"),
                    Map.entry("broker.clients.refused.redirect-uris", REDIRECT),
                    Map.entry("broker.clients.refused.pkce", "broker"));
        }

        @Override
        public void stop() {
            server.stop();
        }
    }

    @TestHTTPResource("/")
    URI base;

    @BeforeEach
    void forget() {
        ParUpstream.server.resetRequests();
    }

    private static ValidatableResponse start(String clientId) {
        return given().contentType(ContentType.URLENC)
                .formParams(Broker.params(
                        "client_id",
                        clientId,
                        "redirect_uri",
                        REDIRECT,
                        "login_hint",
                        "erin",
                        "code_challenge",
                        Handles.s256(Broker.VERIFIER)))
                .post("/oauth2/authorization-request")
                .then();
    }

    /**
     * Apps that hang up while their push is under way leave nothing behind: each push's place among the few that may
     * wait at once is given back (else, after two, every login would get 503), and a login started afterwards goes
     * through. A push holds no token, so there is nothing to keep or revoke; its transaction expires unused.
     */
    @Test
    void appsThatHangUpDuringAPushGiveItsPlaceBack() throws Exception {
        String body = "client_id=clover-par-slow&redirect_uri=" + URLEncoder.encode(REDIRECT, StandardCharsets.UTF_8)
                + "&code_challenge=" + Handles.s256(Broker.VERIFIER);
        String request = "POST /oauth2/authorization-request HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + body.length()
                + "\r\n\r\n" + body;
        int before = slowPushes();
        for (int i = 1; i <= 4; i++) {
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), base.getPort())) {
                socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                // Hang up only once this push is under way at the upstream (which answers after 500 ms).
                int pushed = before + i;
                Await.until(
                        "push " + i + " reaches the upstream", Duration.ofSeconds(10), () -> slowPushes() >= pushed);
            }
        }

        // Once the pushes that were under way have ended, a login goes through again, and again: no place leaked.
        Await.until(
                "a login starts again",
                Duration.ofSeconds(10),
                () -> start("clover-par-slow").extract().statusCode() == 200);
        start("clover-par-slow").statusCode(200);
    }

    private static int slowPushes() {
        return ParUpstream.server
                .findAll(postRequestedFor(urlEqualTo("/par")).withRequestBody(containing("client_id=clover-par-slow")))
                .size();
    }

    @Test
    void theBrowserCarriesOnlyTheRequestUriOfThePushedRequest() {
        JsonPath started = start("clover-broker-pkce").statusCode(200).extract().jsonPath();

        assertEquals(
                ParUpstream.server.baseUrl() + "/authorize?client_id=clover-broker-pkce&request_uri="
                        + REQUEST_URI.replace(":", "%3A"),
                started.getString("authorization_url"));
        List<LoggedRequest> pushed = ParUpstream.server.findAll(postRequestedFor(urlEqualTo("/par")));
        assertEquals(1, pushed.size());
        assertEquals(
                "Basic "
                        + Base64.getEncoder()
                                .encodeToString(
                                        "clover-broker-pkce:broker-pkce-secret".getBytes(StandardCharsets.UTF_8)),
                pushed.get(0).getHeader("Authorization"),
                "authenticated as the client");
        Map<String, String> form = Broker.formOf(pushed.get(0).getBodyAsString());
        assertEquals(
                List.of(
                        "response_type",
                        "client_id",
                        "redirect_uri",
                        "scope",
                        "state",
                        "nonce",
                        "code_challenge",
                        "code_challenge_method",
                        "login_hint"),
                List.copyOf(form.keySet()));
        assertEquals(started.getString("state"), form.get("state"));
        assertEquals(REDIRECT, form.get("redirect_uri"));
        assertEquals("S256", form.get("code_challenge_method"));
        assertEquals("erin", form.get("login_hint"));
    }

    /** The request already names the client: a method that sends client_id in the form must not send it twice. */
    @Test
    void aClientSecretPostPushNamesTheClientOnce() {
        start("clover-par-post").statusCode(200);

        LoggedRequest pushed =
                ParUpstream.server.findAll(postRequestedFor(urlEqualTo("/par"))).get(0);
        // formOf fails on a parameter sent twice.
        Map<String, String> form = Broker.formOf(pushed.getBodyAsString());
        assertEquals("clover-par-post", form.get("client_id"));
        assertEquals("post-secret", form.get("client_secret"));
        assertNull(pushed.getHeader("Authorization"));
    }

    @Test
    void aClientWithParOffSendsTheWholeRequestThroughTheBrowser() {
        URI url = URI.create(start("clover-no-par").statusCode(200).extract().path("authorization_url"));

        assertEquals("code", WebLogin.query(url, "response_type"));
        assertEquals("S256", WebLogin.query(url, "code_challenge_method"));
        assertNull(WebLogin.query(url, "request_uri"));
        assertEquals(
                0,
                ParUpstream.server.findAll(postRequestedFor(urlEqualTo("/par"))).size());
    }

    @Test
    void aRefusedPushIsTheBrokersConfigurationAndStartsNoLogin() {
        // No grant is involved: even invalid_grant is the broker's request, not the user's session.
        for (String refused : List.of("clover-par-refused", "clover-par-grant")) {
            start(refused).statusCode(502).body("error", equalTo("server_error"));
        }
        start("clover-par-refused")
                .statusCode(502)
                .body("error", equalTo("server_error"))
                .body(
                        "error_description",
                        equalTo("The upstream authorization server rejected the broker's client configuration"));
    }
}
