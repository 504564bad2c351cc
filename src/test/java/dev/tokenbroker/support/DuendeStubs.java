package dev.tokenbroker.support;

import java.util.List;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.MappingBuilder;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.matching.RequestPatternBuilder;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;

/**
 * WireMock stubs that answer as Duende IdentityServer does (shared/UPSTREAM.md): every token error is HTTP 400
 * with {@code {"error":"..."}} and no description, absent fields are omitted, revocation answers 200 empty.
 * Token values are fixed so that the log-leak test can look for them.
 */
public final class DuendeStubs {

    public static final String ACCESS_TOKEN = "AT-seed-7f3a9c1e5b2d";
    public static final String REFRESHED_ACCESS_TOKEN = "AT-refreshed-2c8e4a6f";
    /** An ID token as the upstream sends it: a JWT naming the user and the upstream session. */
    public static final String ID_TOKEN = jwt(
                    "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
                    "{\"iss\":\"https://upstream.test\",\"sub\":\"user-4711\",\"sid\":\"sid-0815\",\"aud\":\"clover\","
                            + "\"iat\":1764000000,\"exp\":4102444800}")
            + ".c2lnbmF0dXJlLXNlZWQtN2E5Yw";

    public static final String REFRESH_TOKEN = "RT-seed-9b4d2f6a8c";
    public static final String ROTATED_REFRESH_TOKEN = "RT-rotated-1e3c5a7b9d";
    public static final String SECOND_ROTATED_REFRESH_TOKEN = "RT-rotated2-6f8a0c2e4b";
    public static final String SCOPE = "openid offline_access clearline_api";

    private final WireMockServer wm;

    public DuendeStubs(WireMockServer wm) {
        this.wm = wm;
    }

    public static DuendeStubs reset() {
        WireMockServer wm = WireMockUpstreamResource.server();
        wm.resetAll();
        return new DuendeStubs(wm);
    }

    private static MappingBuilder exchange() {
        return post(urlEqualTo("/connect/token")).withRequestBody(containing("grant_type=authorization_code"));
    }

    private static MappingBuilder refresh() {
        return post(urlEqualTo("/connect/token")).withRequestBody(containing("grant_type=refresh_token"));
    }

    private static String jwt(String header, String payload) {
        java.util.Base64.Encoder b64 = java.util.Base64.getUrlEncoder().withoutPadding();
        return b64.encodeToString(header.getBytes(java.nio.charset.StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(payload.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static String tokens(String accessToken, String refreshToken) {
        return "{\"access_token\":\"" + accessToken + "\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
                + (refreshToken == null ? "" : "\"refresh_token\":\"" + refreshToken + "\",")
                + "\"scope\":\"" + SCOPE + "\"}";
    }

    private static String tokensWithIdToken(String accessToken, String refreshToken) {
        return tokens(accessToken, refreshToken).replace("}", ",\"id_token\":\"" + ID_TOKEN + "\"}");
    }

    private static com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder json(int status, String body) {
        return aResponse()
                .withStatus(status)
                .withHeader("Content-Type", "application/json")
                .withBody(body);
    }

    public void upstreamIssuesTokens() {
        wm.stubFor(exchange().willReturn(json(200, tokensWithIdToken(ACCESS_TOKEN, REFRESH_TOKEN))));
    }

    /** Exchange and refresh answers without {@code scope} (RFC 6749 §5.1: then the granted scope is the requested one). */
    public void upstreamReportsNoScope() {
        String scope = ",\"scope\":\"" + SCOPE + "\"";
        wm.stubFor(exchange()
                .willReturn(
                        json(200, tokensWithIdToken(ACCESS_TOKEN, REFRESH_TOKEN).replace(scope, ""))));
        wm.stubFor(refresh()
                .willReturn(json(200, tokens(REFRESHED_ACCESS_TOKEN, null).replace(scope, ""))));
    }

    /** Like client_credentials, or a client not allowed offline_access: the field is omitted. */
    public void upstreamIssuesNoRefreshToken() {
        wm.stubFor(exchange().willReturn(json(200, tokens(ACCESS_TOKEN, null))));
    }

    /**
     * OneTimeOnly refresh tokens: each refresh returns a new one, and presenting a used one again is
     * {@code invalid_grant} (what servers treat as token theft).
     */
    public void upstreamRotatesRefreshToken(int delayMillis) {
        oneTimeRefresh(REFRESH_TOKEN, ROTATED_REFRESH_TOKEN, delayMillis);
        oneTimeRefresh(ROTATED_REFRESH_TOKEN, SECOND_ROTATED_REFRESH_TOKEN, delayMillis);
    }

    private void oneTimeRefresh(String presented, String next, int delayMillis) {
        // No token here is a prefix of another, so "contains" matches exactly one of them.
        String scenario = "one-time " + presented;
        wm.stubFor(refresh()
                .withRequestBody(containing("refresh_token=" + presented))
                .inScenario(scenario)
                .whenScenarioStateIs(com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED)
                .willReturn(json(200, tokens(REFRESHED_ACCESS_TOKEN, next)).withFixedDelay(delayMillis))
                .willSetStateTo("used"));
        wm.stubFor(refresh()
                .withRequestBody(containing("refresh_token=" + presented))
                .inScenario(scenario)
                .whenScenarioStateIs("used")
                .willReturn(json(400, "{\"error\":\"invalid_grant\"}")));
    }

    /** ReUse refresh tokens (Duende 7 default): the refresh response carries no new refresh token. */
    public void upstreamRefreshesWithoutRotation(int delayMillis) {
        wm.stubFor(refresh()
                .willReturn(json(200, tokens(REFRESHED_ACCESS_TOKEN, null)).withFixedDelay(delayMillis)));
    }

    public void upstreamRejectsGrant() {
        wm.stubFor(post(urlEqualTo("/connect/token")).willReturn(json(400, "{\"error\":\"invalid_grant\"}")));
    }

    /** Duende answers a bad client secret with 400, not RFC 6749's 401. */
    public void upstreamRejectsClientCredentials(int status) {
        upstreamRejectsClient(status, "invalid_client");
    }

    /** The upstream refuses the broker's own registration: invalid_client, unauthorized_client. */
    public void upstreamRejectsClient(int status, String error) {
        wm.stubFor(post(urlEqualTo("/connect/token")).willReturn(json(status, "{\"error\":\"" + error + "\"}")));
    }

    /** Headers at once, then the body in slices over {@code totalMillis}: never silent long enough for an idle timeout. */
    public void upstreamTricklesAnswer(int totalMillis) {
        wm.stubFor(post(urlEqualTo("/connect/token"))
                .willReturn(json(200, tokens(ACCESS_TOKEN, REFRESH_TOKEN)).withChunkedDribbleDelay(20, totalMillis)));
    }

    public void upstreamFails(int status, String contentType, String body) {
        wm.stubFor(post(urlEqualTo("/connect/token"))
                .willReturn(aResponse()
                        .withStatus(status)
                        .withHeader("Content-Type", contentType)
                        .withBody(body)));
    }

    public void upstreamFaults(Fault fault) {
        wm.stubFor(post(urlEqualTo("/connect/token")).willReturn(aResponse().withFault(fault)));
    }

    public void upstreamAnswersAfter(int delayMillis) {
        wm.stubFor(post(urlEqualTo("/connect/token"))
                .willReturn(json(200, tokens(ACCESS_TOKEN, REFRESH_TOKEN)).withFixedDelay(delayMillis)));
    }

    /** The token endpoint answers in ten chunks spread over {@code millis}, without a Content-Length. */
    public void upstreamStreams(int status, String body, int millis) {
        wm.stubFor(post(urlEqualTo("/connect/token"))
                .willReturn(aResponse()
                        .withStatus(status)
                        .withHeader("Content-Type", "application/json")
                        .withBody(body)
                        .withChunkedDribbleDelay(10, millis)));
    }

    public void upstreamAcceptsRevocation() {
        wm.stubFor(
                post(urlEqualTo("/connect/revocation")).willReturn(aResponse().withStatus(200)));
    }

    public void upstreamRevocationFails() {
        wm.stubFor(
                post(urlEqualTo("/connect/revocation")).willReturn(aResponse().withStatus(503)));
    }

    /** OpenID discovery for an issuer at {@code path} on this server, Duende's endpoint layout. */
    public void upstreamPublishesDiscovery(String path) {
        String issuer = wm.baseUrl() + path;
        wm.stubFor(com.github.tomakehurst.wiremock.client.WireMock.get(
                        urlEqualTo(path + "/.well-known/openid-configuration"))
                .willReturn(json(
                        200,
                        "{\"issuer\":\"" + issuer + "\",\"token_endpoint\":\"" + wm.baseUrl()
                                + "/connect/token\",\"revocation_endpoint\":\"" + wm.baseUrl()
                                + "/connect/revocation\"}")));
    }

    public List<LoggedRequest> exchanges() {
        return wm.findAll(tokenCalls("grant_type=authorization_code"));
    }

    public List<LoggedRequest> refreshes() {
        return wm.findAll(tokenCalls("grant_type=refresh_token"));
    }

    public List<LoggedRequest> tokenCalls() {
        return wm.findAll(postRequestedFor(urlEqualTo("/connect/token")));
    }

    public List<LoggedRequest> revocations() {
        return wm.findAll(postRequestedFor(urlEqualTo("/connect/revocation")));
    }

    /** Bodies of the revocation requests the upstream answered with 200. */
    public List<String> confirmedRevocations() {
        return wm.getAllServeEvents().stream()
                .filter(e -> e.getRequest().getUrl().equals("/connect/revocation")
                        && e.getResponse().getStatus() == 200)
                .map(e -> e.getRequest().getBodyAsString())
                .toList();
    }

    private static RequestPatternBuilder tokenCalls(String grant) {
        return postRequestedFor(urlEqualTo("/connect/token")).withRequestBody(containing(grant));
    }
}
