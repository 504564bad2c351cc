package dev.tokenbroker.faults;

import java.net.Socket;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.OneTimeRefreshUpstream;
import dev.tokenbroker.support.OneTimeUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StoredSessions;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static dev.tokenbroker.faults.Clients.exchangeParams;
import static dev.tokenbroker.faults.Clients.form;
import static dev.tokenbroker.faults.Clients.refreshParams;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A front end that hangs up while the upstream works, or whose answer is lost: the work is the session's, not the
 * request's. Against an
 * upstream with one-time refresh tokens that keeps a ledger, every test ends by checking the invariant: every refresh
 * token the upstream issued and still honours is held by exactly one session, no session holds a dead one, and no
 * spent token was ever presented again.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(OneTimeUpstreamResource.class)
class ClientHangUpTest {

    /** The upstream answers this late; the client hangs up long before. */
    private static final long UPSTREAM_MILLIS = 1500;

    private static final long HANG_UP_AFTER_MILLIS = 300;

    @ConfigProperty(name = "quarkus.http.test-port")
    int port;

    @Inject
    RedisDataSource redis;

    @Inject
    KeyRing keyRing;

    private final OneTimeRefreshUpstream upstream = OneTimeUpstreamResource.upstream();

    private Clients.Invariant invariant;

    @BeforeEach
    void watchFromHere() {
        invariant = new Clients.Invariant(redis, keyRing, upstream);
    }

    @AfterEach
    void upstreamAnswersAtOnceAgain() {
        upstream.delay(0);
    }

    @Test
    void refreshWhoseCallerHangsUpIsCommittedAndTheRetryGetsItWithoutAnotherUpstreamCall() throws Exception {
        String handle = signIn();
        long refreshesBefore = upstream.refreshes();

        upstream.delay(UPSTREAM_MILLIS);
        hangUpDuring(refresh(handle));
        Await.until("the refresh committed without its caller", Duration.ofSeconds(10), () -> committed(handle));
        upstream.delay(0);

        String next = refreshed(handle);
        assertNotEquals(handle, next, "the retry gets the rotated handle the lost answer held");
        assertEquals(refreshesBefore + 1, upstream.refreshes(), "the retry was answered from the session");
        assertInvariant();
        refreshed(next);
        assertInvariant();
    }

    @Test
    void joinedRefreshWhoseCallersAllHangUpIsCommittedToo() throws Exception {
        String handle = signIn();
        long refreshesBefore = upstream.refreshes();

        upstream.delay(UPSTREAM_MILLIS);
        try (Socket first = send(refresh(handle));
                Socket joined = send(refresh(handle))) {
            Thread.sleep(HANG_UP_AFTER_MILLIS);
        }
        Await.until("the shared refresh committed", Duration.ofSeconds(10), () -> committed(handle));
        upstream.delay(0);

        refreshed(handle);
        assertEquals(refreshesBefore + 1, upstream.refreshes(), "one upstream call for both callers and the retry");
        assertInvariant();
    }

    @Test
    void exchangeWhoseCallerHangsUpEndsTheNewSessionAndRevokesItsRefreshToken() throws Exception {
        double abandonedBefore = endedFor("abandoned");
        int revokedBefore = upstream.revoked().size();

        upstream.delay(UPSTREAM_MILLIS);
        hangUpDuring(exchange(UUID.randomUUID().toString()));
        Await.until(
                "the unreachable session's refresh token was revoked",
                Duration.ofSeconds(10),
                () -> upstream.revoked().size() > revokedBefore);

        assertEquals(abandonedBefore + 1, endedFor("abandoned"), "broker_sessions_ended_total{reason=abandoned}");
        assertInvariant();
    }

    /**
     * The answer was produced and sent, and never reached the app (a proxy dropped it): the broker cannot tell. The
     * app's retry of the same exchange fails upstream (the code is spent) and ends the session the first one opened,
     * which nobody holds a handle to. Someone with the code but another verifier ends nothing.
     */
    @Test
    void exchangeWhoseAnswerIsLostAndRetriedEndsTheSessionItOpened() {
        double reusedBefore = endedFor("code_reused");
        String code = UUID.randomUUID().toString();
        given().contentType("application/x-www-form-urlencoded")
                .formParams(exchangeParams(code))
                .post("/oauth2/token")
                .then()
                .statusCode(200);
        int revokedBefore = upstream.revoked().size();

        Map<String, String> otherVerifier = new HashMap<>(exchangeParams(code));
        otherVerifier.put("code_verifier", "x".repeat(43));
        given().contentType("application/x-www-form-urlencoded")
                .formParams(otherVerifier)
                .post("/oauth2/token")
                .then()
                .statusCode(400)
                .body("error", equalTo("invalid_grant"));
        assertEquals(reusedBefore, endedFor("code_reused"), "the code alone ends nothing");

        given().contentType("application/x-www-form-urlencoded")
                .formParams(exchangeParams(code))
                .post("/oauth2/token")
                .then()
                .statusCode(400)
                .body("error", equalTo("invalid_grant"));
        Await.until(
                "the unreachable session's refresh token was revoked",
                Duration.ofSeconds(10),
                () -> upstream.revoked().size() > revokedBefore);
        assertEquals(reusedBefore + 1, endedFor("code_reused"), "broker_sessions_ended_total{reason=code_reused}");
        assertInvariant();
    }

    @Test
    void revokeWhoseCallerHangsUpStillEndsTheSessionAndItsUpstreamToken() throws Exception {
        String handle = signIn();
        int revokedBefore = upstream.revoked().size();

        upstream.delay(UPSTREAM_MILLIS);
        hangUpDuring(
                form("/oauth2/revoke", Map.of("client_id", Broker.MOBILE, "token", handle, "token_type_hint", "x")));
        Await.until(
                "the upstream refresh token was revoked",
                Duration.ofSeconds(10),
                () -> upstream.revoked().size() > revokedBefore);

        assertTrue(StoredSessions.of(redis, handle).isEmpty(), "the session ended");
        assertInvariant();
    }

    @Test
    void retiredHandleWithinItsGraceAskingForANarrowerScopeGetsThatScopeAndTheCurrentHandle() {
        String handle = signIn();
        String next = refreshed(handle);
        long refreshesBefore = upstream.refreshes();

        io.restassured.path.json.JsonPath narrower = given().contentType("application/x-www-form-urlencoded")
                .formParams(Map.of(
                        "grant_type",
                        "refresh_token",
                        "client_id",
                        Broker.MOBILE,
                        "refresh_token",
                        handle,
                        "scope",
                        "openid"))
                .post("/oauth2/token")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
        assertEquals("openid", narrower.getString("scope"), "RFC 6749 §6: never broader than asked");
        assertEquals(next, narrower.getString("refresh_token"), "the session's current handle, not a new rotation");
        assertEquals(refreshesBefore + 1, upstream.refreshes(), "the narrower token came from the upstream");

        refreshed(next);
        assertInvariant();
    }

    private String signIn() {
        return given().contentType("application/x-www-form-urlencoded")
                .formParams(exchangeParams(UUID.randomUUID().toString()))
                .post("/oauth2/token")
                .then()
                .statusCode(200)
                .extract()
                .path("refresh_token");
    }

    private static String exchange(String code) {
        return form("/oauth2/token", exchangeParams(code));
    }

    private static String refresh(String handle) {
        return form("/oauth2/token", refreshParams(handle));
    }

    private String refreshed(String handle) {
        return given().contentType("application/x-www-form-urlencoded")
                .formParams(refreshParams(handle))
                .post("/oauth2/token")
                .then()
                .statusCode(200)
                .extract()
                .path("refresh_token");
    }

    private void hangUpDuring(String request) throws Exception {
        Clients.hangUpDuring(port, request, HANG_UP_AFTER_MILLIS);
    }

    private Socket send(String request) throws Exception {
        return Clients.send(port, request);
    }

    /** The session's first refresh committed and released its lock. */
    private boolean committed(String handle) {
        Map<String, String> session = StoredSessions.of(redis, handle);
        return "1".equals(session.get("version")) && !session.containsKey("lock");
    }

    private void assertInvariant() {
        invariant.checkAll();
    }

    private static double endedFor(String reason) {
        Matcher m = Pattern.compile("(?m)^broker_sessions_ended_total\\{[^}]*reason=\"" + reason + "\"[^}]*} (\\S+)$")
                .matcher(Management.metrics());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }
}
