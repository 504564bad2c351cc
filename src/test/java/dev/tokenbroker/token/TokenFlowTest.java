package dev.tokenbroker.token;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StoredSessions;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import okhttp3.mockwebserver.RecordedRequest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.emptyOrNullString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole flow against a real OpenID provider found by discovery, and a real Redis. */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
class TokenFlowTest {

    @Inject
    RedisDataSource redis;

    @Inject
    KeyRing keyRing;

    @BeforeEach
    void drainRecordedRequests() throws Exception {
        while (MockUpstreamResource.poll(1) != null) {
            // discard what earlier tests sent
        }
    }

    private RecordedRequest nextTokenRequest() throws InterruptedException {
        RecordedRequest request;
        do {
            request = MockUpstreamResource.poll(5000);
            assertNotNull(request, "the broker made no upstream token call");
        } while (!request.getPath().endsWith("/token"));
        return request;
    }

    @Test
    void exchangeThenRefreshThenRevoke() throws Exception {
        String code = MockUpstreamResource.authorize(Broker.MOBILE, Broker.MOBILE_REDIRECT, Broker.VERIFIER);

        JsonPath exchanged = Broker.exchange(Broker.MOBILE, code, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .header("Cache-Control", "no-store")
                .header("Pragma", "no-cache")
                .body("token_type", equalTo("Bearer"))
                .body("access_token", not(emptyOrNullString()))
                .body("id_token", not(emptyOrNullString()))
                .body("expires_in", notNullValue())
                .extract()
                .jsonPath();
        String handle = exchanged.getString("refresh_token");
        assertTrue(Handles.parse(handle).isPresent(), "the front end gets a broker handle, not the upstream token");

        RecordedRequest exchange = nextTokenRequest();
        String body = exchange.getBody().readUtf8();
        assertTrue(body.contains("grant_type=authorization_code"), body);
        assertTrue(body.contains("code_verifier=" + Broker.VERIFIER), "PKCE verifier forwarded");
        assertTrue(body.contains("redirect_uri=clover%3A%2F%2Fauth-callback"), body);
        assertEquals(
                "Basic "
                        + Base64.getEncoder()
                                .encodeToString("clover:s%3Ae%2Bc%25r+et+%C3%A9".getBytes(StandardCharsets.UTF_8)),
                exchange.getHeader("Authorization"));

        Map<String, String> stored = StoredSessions.of(redis, handle);
        assertEquals("clover", stored.get("client"));
        assertTrue(
                redis.set(String.class)
                        .smembers(StoredSessions.KEYS.subjectIndex(
                                keyRing.indexTag(claim(exchanged.getString("id_token"), "sub"))))
                        .contains(StoredSessions.id(handle)),
                "indexed by the subject read from the verified ID token");
        assertFalse(stored.get("rt").isEmpty());

        JsonPath refreshed = Broker.refresh(Broker.MOBILE, handle)
                .statusCode(200)
                .header("Cache-Control", "no-store")
                .body("refresh_token", not(equalTo(handle)))
                .body("access_token", not(emptyOrNullString()))
                .extract()
                .jsonPath();
        assertNotEquals(exchanged.getString("access_token"), refreshed.getString("access_token"));
        String rotated = refreshed.getString("refresh_token");
        assertEquals(StoredSessions.id(handle), StoredSessions.id(rotated), "a rotated handle names the same session");
        RecordedRequest refresh = nextTokenRequest();
        assertTrue(refresh.getBody().readUtf8().contains("grant_type=refresh_token"));

        Broker.revoke(Broker.MOBILE, rotated).statusCode(200).header("Cache-Control", "no-store");
        assertTrue(StoredSessions.of(redis, handle).isEmpty());
        RecordedRequest revocation = MockUpstreamResource.poll(5000);
        assertNotNull(revocation);
        assertTrue(revocation.getPath().endsWith("/revoke"), revocation.getPath());
        assertTrue(revocation.getBody().readUtf8().contains("token_type_hint=refresh_token"));

        Broker.refresh(Broker.MOBILE, rotated).statusCode(400).body("error", equalTo("invalid_grant"));
    }

    @Test
    void aRetiredHandlePresentedAfterItsGraceEndsTheSessionAndRevokesItUpstream() throws Exception {
        String code = MockUpstreamResource.authorize(Broker.MOBILE, Broker.MOBILE_REDIRECT, Broker.VERIFIER);
        String stolen = Broker.exchange(Broker.MOBILE, code, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        String current =
                Broker.refresh(Broker.MOBILE, stolen).statusCode(200).extract().path("refresh_token");
        String upstreamRefreshToken = upstreamRefreshTokenOfLastExchange();

        // Within the grace the retired handle answers what it answered first; after it, it is theft.
        long deadline = System.currentTimeMillis() + 10_000;
        int status;
        do {
            assertTrue(System.currentTimeMillis() < deadline, "the grace never ended");
            status = Broker.refresh(Broker.MOBILE, stolen).extract().statusCode();
            if (status == 200) {
                TimeUnit.MILLISECONDS.sleep(200);
            }
        } while (status == 200);
        assertEquals(400, status);
        Broker.refresh(Broker.MOBILE, current).statusCode(400).body("error", equalTo("invalid_grant"));
        assertTrue(StoredSessions.of(redis, stolen).isEmpty());

        RecordedRequest request;
        do {
            request = MockUpstreamResource.poll(5000);
            assertNotNull(request, "the upstream refresh token was not revoked at the upstream");
        } while (!request.getPath().endsWith("/revoke"));
        assertTrue(request.getBody().readUtf8().contains("token=" + upstreamRefreshToken));
    }

    @Test
    void jsonBodiesWorkLikeForms() throws Exception {
        String code = MockUpstreamResource.authorize(Broker.MOBILE, Broker.MOBILE_REDIRECT, Broker.VERIFIER);
        String handle = given().contentType(ContentType.JSON)
                .body(Map.of(
                        "grant_type",
                        "authorization_code",
                        "client_id",
                        Broker.MOBILE,
                        "code",
                        code,
                        "redirect_uri",
                        Broker.MOBILE_REDIRECT,
                        "code_verifier",
                        Broker.VERIFIER))
                .post("/oauth2/token")
                .then()
                .statusCode(200)
                .extract()
                .path("refresh_token");
        String rotated = given().contentType(ContentType.JSON)
                .body(Map.of("grant_type", "refresh_token", "client_id", Broker.MOBILE, "refresh_token", handle))
                .post("/oauth2/token")
                .then()
                .statusCode(200)
                .extract()
                .path("refresh_token");
        given().contentType(ContentType.JSON)
                .body(Map.of("client_id", Broker.MOBILE, "token", rotated))
                .post("/oauth2/revoke")
                .then()
                .statusCode(200);
        Broker.refresh(Broker.MOBILE, rotated).statusCode(400).body("error", equalTo("invalid_grant"));
    }

    @Test
    void aHandleOnlyWorksForItsOwnClient() throws Exception {
        String code = MockUpstreamResource.authorize(Broker.MOBILE, Broker.MOBILE_REDIRECT, Broker.VERIFIER);
        String handle = Broker.exchange(Broker.MOBILE, code, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");

        Broker.refresh(Broker.WEB, handle).statusCode(400).body("error", equalTo("invalid_grant"));
        Broker.revoke(Broker.WEB, handle).statusCode(200);
        Broker.refresh(Broker.MOBILE, handle).statusCode(200);
    }

    @Test
    void aSecondClientWithClientSecretPostWorks() throws Exception {
        String redirect = "https://app.example/callback";
        String code = MockUpstreamResource.authorize(Broker.WEB, redirect, Broker.VERIFIER);
        Broker.exchange(Broker.WEB, code, redirect, Broker.VERIFIER)
                .statusCode(200)
                .body("$", hasKey("refresh_token"));
        RecordedRequest exchange = nextTokenRequest();
        String body = exchange.getBody().readUtf8();
        assertTrue(body.contains("client_id=clover-web") && body.contains("client_secret=web-secret-4711"), body);
        assertEquals(null, exchange.getHeader("Authorization"));
    }

    @Test
    void redisHoldsNeitherHandlesNorTokensInPlaintext() throws Exception {
        String code = MockUpstreamResource.authorize(Broker.MOBILE, Broker.MOBILE_REDIRECT, Broker.VERIFIER);
        JsonPath exchanged = Broker.exchange(Broker.MOBILE, code, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .jsonPath();
        String handle = exchanged.getString("refresh_token");
        String refreshed =
                Broker.refresh(Broker.MOBILE, handle).statusCode(200).extract().path("access_token");
        String upstreamRefreshToken = upstreamRefreshTokenOfLastExchange();

        StringBuilder dump = new StringBuilder();
        for (String key : redis.key(String.class).keys("*")) {
            dump.append(key).append('\n');
            if ("hash".equals(redis.key(String.class).type(key).name().toLowerCase(java.util.Locale.ROOT))) {
                redis.hash(String.class)
                        .hgetall(key)
                        .forEach((f, v) -> dump.append(f).append('=').append(v).append('\n'));
            }
        }
        String all = dump.toString();
        assertTrue(all.contains(StoredSessions.id(handle)), "the session is stored under a hash of the handle's key");
        for (String secret : List.of(handle, exchanged.getString("access_token"), refreshed, upstreamRefreshToken)) {
            assertFalse(all.contains(secret), "Redis holds a token in plaintext");
        }
    }

    private static String claim(String jwt, String name) {
        String payload = new String(Base64.getUrlDecoder().decode(jwt.split("\\.")[1]), StandardCharsets.UTF_8);
        return JsonPath.from(payload).getString(name);
    }

    /** The upstream refresh token, read from what the broker sent at its first refresh. */
    private String upstreamRefreshTokenOfLastExchange() throws InterruptedException {
        nextTokenRequest(); // the exchange
        String body = nextTokenRequest().getBody().readUtf8();
        for (String pair : body.split("&")) {
            if (pair.startsWith("refresh_token=")) {
                return java.net.URLDecoder.decode(pair.substring(14), StandardCharsets.UTF_8);
            }
        }
        throw new AssertionError("no refresh_token in " + body);
    }
}
