package dev.tokenbroker.web;

import java.net.InetAddress;
import java.net.URI;
import java.util.Locale;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tokenbroker.devmode.RedisServer;
import dev.tokenbroker.support.ApiStubResource;
import dev.tokenbroker.support.BrokerProcess;
import dev.tokenbroker.support.WebLogin;
import io.restassured.response.ExtractableResponse;
import io.restassured.response.Response;
import io.restassured.response.ValidatableResponse;
import no.nav.security.mock.oauth2.MockOAuth2Server;

import static dev.tokenbroker.support.WebLogin.LOGIN_COOKIE;
import static dev.tokenbroker.support.WebLogin.SESSION_COOKIE;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Two packaged brokers behind one external URL share the authorization-transaction store: a login started on one
 * replica completes on the other, and its state is spent for both; the session it opened proxies API calls on either
 * replica, and after a logout on one, on neither.
 */
class WebMultiReplicaIT {

    static final String EXTERNAL = "https://tokens.example";
    static final String APP = "https://app.example";

    static RedisServer redis;
    static MockOAuth2Server upstream;
    static ApiStubResource api = new ApiStubResource();
    static Map<String, String> apiConfig;

    @BeforeAll
    static void start() throws Exception {
        redis = RedisServer.start();
        upstream = new MockOAuth2Server();
        upstream.start(InetAddress.getLoopbackAddress(), 0);
        apiConfig = api.start();
    }

    @AfterAll
    static void stop() {
        upstream.shutdown();
        redis.close();
        api.stop();
    }

    static Map<String, String> env() {
        Map<String, String> env = BrokerProcess.baseEnv(redis.uri());
        env.put("BROKER_UPSTREAM_ISSUER", upstream.issuerUrl("connect").toString());
        env.put("BROKER_EXTERNAL_BASE_URL", EXTERNAL);
        env.put("BROKER_CLIENTS_SPA_CLIENT_ID", "clover-spa");
        env.put("BROKER_CLIENTS_SPA_CLIENT_SECRET", "spa-secret");
        env.put("BROKER_CLIENTS_SPA_MODE", "web");
        env.put("BROKER_CLIENTS_SPA_REDIRECT_URIS", EXTERNAL + "/bff/callback");
        env.put("BROKER_CLIENTS_SPA_ALLOWED_ORIGINS", APP);
        env.put("BROKER_CLIENTS_SPA_RETURN_TO", APP);
        // The API proxy's settings, as environment variables (token-endpoint=off among them).
        apiConfig.forEach(
                (property, value) -> env.put(property.toUpperCase(Locale.ROOT).replaceAll("[.-]", "_"), value));
        return env;
    }

    @Test
    void loginStartedOnOneReplicaCompletesOnTheOtherAndItsStateIsSpentOnBoth() throws Exception {
        try (BrokerProcess a = BrokerProcess.launch(env());
                BrokerProcess b = BrokerProcess.launch(env())) {
            a.awaitReady();
            b.awaitReady();

            ExtractableResponse<Response> login = given().baseUri(a.baseUrl())
                    .redirects()
                    .follow(false)
                    .get("/bff/login")
                    .then()
                    .statusCode(302)
                    .extract();
            String loginCookie = login.cookie(LOGIN_COOKIE);
            URI callback = WebLogin.authorize(new WebLogin.Started(URI.create(login.header("Location")), loginCookie));
            assertEquals(
                    EXTERNAL + "/bff/callback", callback.getScheme() + "://" + callback.getHost() + callback.getPath());
            // The load balancer sends the browser's callback to the other replica.
            URI onB = URI.create(b.baseUrl() + callback.getRawPath() + "?" + callback.getRawQuery());
            ExtractableResponse<Response> done = WebLogin.callback(onB, loginCookie);
            assertEquals(302, done.statusCode(), done.body().asString() + b.output());
            assertEquals(APP, done.header("Location"));
            String session = done.cookie(SESSION_COOKIE);
            assertNotNull(session);

            given().baseUri(a.baseUrl())
                    .cookie(SESSION_COOKIE, session)
                    .header("X-CSRF", "1")
                    .get("/bff/user")
                    .then()
                    .statusCode(200);
            // The session opened on b proxies on a; after a logout on b, on neither.
            proxied(a, session).statusCode(200).body("authorization", startsWith("Bearer "));
            given().baseUri(b.baseUrl())
                    .cookie(SESSION_COOKIE, session)
                    .header("X-CSRF", "1")
                    .header("Origin", APP)
                    .post("/bff/logout")
                    .then()
                    .statusCode(200);
            proxied(a, session).statusCode(401).body("error", equalTo("login_required"));
            proxied(b, session).statusCode(401);
            URI onA = URI.create(a.baseUrl() + callback.getRawPath() + "?" + callback.getRawQuery());
            ExtractableResponse<Response> replay = WebLogin.callback(onA, loginCookie);
            assertEquals(400, replay.statusCode());
            assertEquals("invalid_grant", replay.path("error"));
        }
    }

    private static ValidatableResponse proxied(BrokerProcess broker, String session) {
        return given().baseUri(broker.baseUrl())
                .cookie(SESSION_COOKIE, session)
                .header("X-CSRF", "1")
                .header("Origin", APP)
                .get("/bff/api/orders/echo")
                .then();
    }
}
