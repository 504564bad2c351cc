package dev.tokenbroker.api;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StoredSessions;
import dev.tokenbroker.upstream.LogoutTokens;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ExtractableResponse;
import io.restassured.response.Response;
import io.restassured.response.ValidatableResponse;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import okhttp3.mockwebserver.RecordedRequest;

import static dev.tokenbroker.support.MockUpstreamResource.PARTNER;
import static dev.tokenbroker.support.MockUpstreamResource.PARTNER_CLIENT;
import static dev.tokenbroker.support.MockUpstreamResource.PARTNER_REDIRECT;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two upstreams at once: the default one (issuer {@code connect} of mock-oauth2-server) and {@code partner} (issuer
 * {@code partner}, its own signing key), each with its own client. A session is refreshed only at the upstream that
 * issued it, and a back-channel logout ends only the sessions of the upstream that sent it.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
class SeveralUpstreamsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    RedisDataSource redis;

    @Inject
    KeyRing keyRing;

    @BeforeEach
    void drain() {
        MockUpstreamResource.drainRecordedRequests();
    }

    @Test
    void theBrokerIsReadyOnceEveryUpstreamIsDiscovered() {
        Management.onManagementPort()
                .get("/q/health/ready")
                .then()
                .statusCode(200)
                .body("checks.find { it.name == 'upstream-metadata' }.data.default", equalTo("loaded"))
                .body("checks.find { it.name == 'upstream-metadata' }.data.partner", equalTo("loaded"));
    }

    @Test
    void sessionsOfTwoUpstreamsRefreshSideBySideEachAtItsOwn() throws Exception {
        String user = "user-" + UUID.randomUUID();
        String atDefault = MockUpstreamResource.signIn(Broker.MOBILE, Broker.MOBILE_REDIRECT, user, Map.of());
        String atPartner = MockUpstreamResource.signIn(PARTNER, PARTNER_CLIENT, PARTNER_REDIRECT, user, Map.of());
        drain();

        ExtractableResponse<Response> refreshed =
                Broker.refresh(Broker.MOBILE, atDefault).statusCode(200).extract();
        assertEquals(issuer("connect"), issuerOf(refreshed));
        RecordedRequest defaultCall = nextTokenCall();
        assertEquals("/connect/token", defaultCall.getPath());
        assertEquals(Broker.MOBILE, clientOf(defaultCall));

        refreshed = Broker.refresh(PARTNER_CLIENT, atPartner).statusCode(200).extract();
        assertEquals(issuer(PARTNER), issuerOf(refreshed));
        RecordedRequest partnerCall = nextTokenCall();
        assertEquals("/partner/token", partnerCall.getPath());
        assertEquals(PARTNER_CLIENT, clientOf(partnerCall));
        String metrics = Management.metrics();
        assertTrue(
                metrics.matches("(?s).*broker_upstream_requests_seconds_count\\{[^}]*endpoint=\"token\"[^}]*"
                        + "upstream=\"partner\"[^}]*} [1-9].*"),
                "calls to each upstream are counted under its id");
    }

    @Test
    void aBackchannelLogoutEndsOnlyTheSessionsOfTheUpstreamThatSentIt() throws Exception {
        String user = "user-" + UUID.randomUUID();
        String atDefault = MockUpstreamResource.signIn(Broker.MOBILE, Broker.MOBILE_REDIRECT, user, Map.of());
        String atPartner = MockUpstreamResource.signIn(PARTNER, PARTNER_CLIENT, PARTNER_REDIRECT, user, Map.of());

        // The partner's key, the partner's issuer, but a client of the other upstream: not the partner's to end.
        logout(signedBy(PARTNER, user, Broker.MOBILE)).statusCode(400).body("error", equalTo("invalid_request"));
        // The same user at the partner: only that session ends, although the user id is the same at both.
        logout(signedBy(PARTNER, user, PARTNER_CLIENT)).statusCode(200);

        Broker.refresh(PARTNER_CLIENT, atPartner).statusCode(400).body("error", equalTo("invalid_grant"));
        Broker.refresh(Broker.MOBILE, atDefault).statusCode(200);

        logout(signedBy("connect", user, Broker.MOBILE)).statusCode(200);
        Broker.refresh(Broker.MOBILE, atDefault).statusCode(400).body("error", equalTo("invalid_grant"));
    }

    /**
     * A session's upstream refresh token is bound to its client's upstream: one stored while the client had another
     * upstream (here: written without the binding) is never sent to this one; the session is over.
     */
    @Test
    void aRefreshTokenStoredForAnotherUpstreamIsNeverSentToThisOne() throws Exception {
        String handle = MockUpstreamResource.signIn(
                PARTNER, PARTNER_CLIENT, PARTNER_REDIRECT, "user-" + UUID.randomUUID(), Map.of());
        String sessionId = StoredSessions.id(handle);
        String fromDefaultUpstream =
                keyRing.encrypt("refresh-token-of-the-default-upstream", "session:" + sessionId + ":rt");
        redis.hash(String.class).hset(StoredSessions.key(handle), "rt", fromDefaultUpstream);
        drain();

        Broker.refresh(PARTNER_CLIENT, handle).statusCode(400).body("error", equalTo("invalid_grant"));

        for (RecordedRequest call = MockUpstreamResource.poll(1000);
                call != null;
                call = MockUpstreamResource.poll(1000)) {
            assertTrue(
                    !call.getPath().endsWith("/token")
                            && !call.getBody().readUtf8().contains("default-upstream"),
                    "no upstream saw the other upstream's refresh token: " + call.getPath());
        }
    }

    private static String issuer(String issuerId) {
        return MockUpstreamResource.server().issuerUrl(issuerId).toString();
    }

    /** The {@code iss} of the access token a refresh answered with. */
    private static String issuerOf(ExtractableResponse<Response> refresh) throws Exception {
        String accessToken = refresh.path("access_token");
        JsonNode claims = JSON.readTree(
                new String(Base64.getUrlDecoder().decode(accessToken.split("\\.")[1]), StandardCharsets.UTF_8));
        return claims.path("iss").asText();
    }

    private static RecordedRequest nextTokenCall() {
        RecordedRequest request;
        do {
            request = MockUpstreamResource.poll(5000);
            assertNotNull(request, "the broker made no token call");
        } while (!request.getPath().endsWith("/token"));
        return request;
    }

    /** The client id of the Basic credentials a call carries. */
    private static String clientOf(RecordedRequest call) {
        String header = call.getHeader("Authorization");
        assertNotNull(header, "Basic client authentication");
        String decoded =
                new String(Base64.getDecoder().decode(header.substring("Basic ".length())), StandardCharsets.UTF_8);
        return URLDecoder.decode(decoded.substring(0, decoded.indexOf(':')), StandardCharsets.UTF_8);
    }

    private static ValidatableResponse logout(String token) {
        return given().contentType(ContentType.URLENC)
                .formParam("logout_token", token)
                .post("/oidc/backchannel-logout")
                .then();
    }

    /** A logout token for {@code subject} signed by the key of the issuer {@code issuerId}, as its IdP sends it. */
    private static String signedBy(String issuerId, String subject, String audience) {
        return MockUpstreamResource.server()
                .issueToken(
                        issuerId,
                        audience,
                        new DefaultOAuth2TokenCallback(
                                issuerId,
                                subject,
                                "logout+jwt",
                                List.of(audience),
                                Map.of("events", Map.of(LogoutTokens.EVENT, Map.of())),
                                120))
                .serialize();
    }
}
