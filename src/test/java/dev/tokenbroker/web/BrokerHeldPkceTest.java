package dev.tokenbroker.web;

import java.net.URI;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WebLogin;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.ValidatableResponse;
import okhttp3.mockwebserver.RecordedRequest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.emptyOrNullString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Native apps with {@code pkce=broker}: the broker makes and keeps the PKCE pair; the app never sees a verifier. */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
class BrokerHeldPkceTest {

    static final String CLIENT = "clover-broker-pkce";
    static final String REDIRECT = "clover-bp://cb";

    @BeforeEach
    void drain() {
        while (MockUpstreamResource.poll(1) != null) {
            // discard what earlier tests sent
        }
    }

    private static JsonPath authorizationRequest() {
        return given().contentType(ContentType.URLENC)
                .formParams(Broker.params(
                        "client_id",
                        CLIENT,
                        "redirect_uri",
                        REDIRECT,
                        "login_hint",
                        "erin",
                        "code_challenge",
                        Handles.s256(Broker.VERIFIER),
                        "code_challenge_method",
                        "S256"))
                .post("/oauth2/authorization-request")
                .then()
                .statusCode(200)
                .header("Cache-Control", "no-store")
                .extract()
                .jsonPath();
    }

    /** The system browser: the upstream signs in at once and redirects to the app with code and state. */
    private static URI openInBrowser(String authorizationUrl) {
        return WebLogin.authorize(new WebLogin.Started(URI.create(authorizationUrl), null));
    }

    @Test
    void codeStateAndTheAppsVerifierAreExchangedWithTheVerifierTheBrokerKept() throws Exception {
        JsonPath started = authorizationRequest();
        URI authorizationUrl = URI.create(started.getString("authorization_url"));
        assertEquals(started.getString("state"), WebLogin.query(authorizationUrl, "state"));
        assertEquals("S256", WebLogin.query(authorizationUrl, "code_challenge_method"));
        assertEquals("erin", WebLogin.query(authorizationUrl, "login_hint"));
        URI back = openInBrowser(started.getString("authorization_url"));

        redeem(WebLogin.query(back, "code"), WebLogin.query(back, "state"), Broker.VERIFIER)
                .statusCode(200)
                .body("access_token", not(emptyOrNullString()))
                .body("refresh_token", not(emptyOrNullString()));
        RecordedRequest exchange = nextRequestTo("/token");
        String body = exchange.getBody().readUtf8();
        assertTrue(body.contains("code_verifier="), "the broker sent a verifier");
        assertFalse(body.contains(Broker.VERIFIER), "the broker sent its own verifier, not the app's");
        assertTrue(body.contains("redirect_uri=clover-bp%3A%2F%2Fcb"), body.replaceAll("code=[^&]*", "code=…"));
    }

    @Test
    void aCodeFromAFlowTheBrokerDidNotStartIsRefusedBeforeAnyUpstreamCall() throws Exception {
        String code = MockUpstreamResource.authorize(CLIENT, REDIRECT, Broker.VERIFIER);
        drain();

        redeem(code, "s1", Broker.VERIFIER).statusCode(400).body("error", equalTo("invalid_grant"));
        assertNoUpstreamCall();
    }

    @Test
    void anInterceptedCodeAndStateWithoutTheAppsVerifierAreRefusedAndLeaveTheLoginToTheApp() throws Exception {
        JsonPath started = authorizationRequest();
        URI back = openInBrowser(started.getString("authorization_url"));
        String code = WebLogin.query(back, "code");
        String state = WebLogin.query(back, "state");
        drain();

        // Refused for their form, before the state is looked at: it stays usable.
        Broker.token(Broker.params(
                        "grant_type", "authorization_code", "client_id", CLIENT, "code", code, "state", state))
                .statusCode(400)
                .body("error", equalTo("invalid_request"));
        Broker.token(Broker.params(
                        "grant_type",
                        "authorization_code",
                        "client_id",
                        CLIENT,
                        "code",
                        code,
                        "code_verifier",
                        Broker.VERIFIER))
                .statusCode(400)
                .body("error", equalTo("invalid_request"));
        // Another app that received the redirect (same custom scheme) has code and state, not the app's verifier.
        redeem(code, state, "x".repeat(43)).statusCode(400).body("error", equalTo("invalid_grant"));
        assertNoUpstreamCall();
        // Knowing the state was not enough to spend it: the real app's exchange goes through, once.
        redeem(code, state, Broker.VERIFIER).statusCode(200);
        redeem(code, state, Broker.VERIFIER).statusCode(400).body("error", equalTo("invalid_grant"));
    }

    @Test
    void anIdTokenWithAnotherNonceThanTheBrokerSentEndsTheNewSession() throws Exception {
        JsonPath started = authorizationRequest();
        String url = started.getString("authorization_url");
        String nonce = WebLogin.query(URI.create(url), "nonce");
        // The upstream signs whatever nonce reaches it: here one the broker never sent.
        URI back = openInBrowser(url.replace("nonce=" + nonce, "nonce=" + "n".repeat(43)));
        double endedBefore = endedFor("invalid_login");

        redeem(WebLogin.query(back, "code"), WebLogin.query(back, "state"), Broker.VERIFIER)
                .statusCode(400)
                .body("error", equalTo("invalid_grant"))
                .body("error_description", equalTo("The ID token's nonce is not the one of this login"));
        assertEquals(endedBefore + 1, endedFor("invalid_login"), "the session the exchange opened was ended");
    }

    @Test
    void aScopeWithoutOpenidIsRefusedBeforeTheLoginSinceItsNonceCouldNotBeChecked() {
        given().contentType(ContentType.URLENC)
                .formParams(Broker.params(
                        "client_id",
                        CLIENT,
                        "redirect_uri",
                        REDIRECT,
                        "scope",
                        "offline_access",
                        "code_challenge",
                        Handles.s256(Broker.VERIFIER)))
                .post("/oauth2/authorization-request")
                .then()
                .statusCode(400)
                .body("error", equalTo("invalid_scope"));
    }

    /** The app's exchange of a code that came back with {@code state}, proving itself with {@code verifier}. */
    private static ValidatableResponse redeem(String code, String state, String verifier) {
        return Broker.token(Broker.params(
                "grant_type", "authorization_code",
                "client_id", CLIENT,
                "code", code,
                "state", state,
                "code_verifier", verifier));
    }

    private static double endedFor(String reason) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                        "(?m)^broker_sessions_ended_total\\{[^}]*reason=\"" + reason + "\"[^}]*} (\\S+)$")
                .matcher(dev.tokenbroker.support.Management.metrics());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    @Test
    void aRedirectUriOtherThanTheAuthorizationRequestsIsRefused() throws Exception {
        JsonPath started = authorizationRequest();
        URI back = openInBrowser(started.getString("authorization_url"));
        drain();

        Broker.token(Broker.params(
                        "grant_type",
                        "authorization_code",
                        "client_id",
                        CLIENT,
                        "code",
                        WebLogin.query(back, "code"),
                        "state",
                        WebLogin.query(back, "state"),
                        "code_verifier",
                        Broker.VERIFIER,
                        "redirect_uri",
                        "clover-bp://other"))
                .statusCode(400)
                .body("error", equalTo("invalid_grant"));
        assertNoUpstreamCall();
    }

    @Test
    void onlyClientsWithBrokerHeldPkceMayStartAnAuthorizationRequest() {
        given().contentType(ContentType.URLENC)
                .formParams(Broker.params("client_id", CLIENT, "redirect_uri", REDIRECT))
                .post("/oauth2/authorization-request")
                .then()
                .statusCode(400)
                .body("error", equalTo("invalid_request"))
                .body("error_description", org.hamcrest.Matchers.containsString("code_challenge"));
        given().contentType(ContentType.URLENC)
                .formParams(Broker.params(
                        "client_id",
                        Broker.MOBILE,
                        "redirect_uri",
                        Broker.MOBILE_REDIRECT,
                        "code_challenge",
                        Handles.s256(Broker.VERIFIER)))
                .post("/oauth2/authorization-request")
                .then()
                .statusCode(400)
                .body("error", equalTo("invalid_request"));
        given().contentType(ContentType.URLENC)
                .formParams(Broker.params(
                        "client_id",
                        CLIENT,
                        "redirect_uri",
                        "clover-bp://not-registered",
                        "code_challenge",
                        Handles.s256(Broker.VERIFIER)))
                .post("/oauth2/authorization-request")
                .then()
                .statusCode(400)
                .body("error", equalTo("invalid_request"));
    }

    private static RecordedRequest nextRequestTo(String suffix) {
        for (int i = 0; i < 20; i++) {
            RecordedRequest r = MockUpstreamResource.poll(2000);
            assertNotNull(r, "no upstream request ending in " + suffix);
            if (r.getPath().contains(suffix)) {
                return r;
            }
        }
        throw new AssertionError("no upstream request ending in " + suffix);
    }

    private static void assertNoUpstreamCall() {
        for (RecordedRequest r = MockUpstreamResource.poll(300); r != null; r = MockUpstreamResource.poll(300)) {
            assertTrue(!r.getPath().contains("/token"), "the upstream got a token request: " + r.getPath());
        }
    }
}
