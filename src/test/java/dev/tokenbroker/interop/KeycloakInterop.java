package dev.tokenbroker.interop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tokenbroker.devmode.RedisServer;
import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.BrokerProcess;
import dev.tokenbroker.support.ConnectProxy;
import dev.tokenbroker.support.KeycloakServer;
import dev.tokenbroker.support.LatencyProxy;
import dev.tokenbroker.support.TestCa;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.ValidatableResponse;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.emptyOrNullString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The token flows against a real Keycloak (./mvnw -B verify -Pinterop): the packaged broker discovers Keycloak's
 * endpoints from its issuer and serves code exchange, refresh and revocation with Keycloak's one-time refresh tokens
 * ({@code revokeRefreshToken=true}, {@code refreshTokenMaxReuse=0}). Keycloak's own answers to bad client credentials,
 * expired, reused and revoked refresh tokens are asserted byte for byte, as the README's interop table lists them.
 */
class KeycloakInterop {

    static final String SECRET = "interop-secret-8d3f";
    static final String SHORT = "clover-short";
    static final String SHORT_SECRET = "short-secret-51c2";
    /** Keycloak's secret of this client was rotated; the broker still holds the old one. */
    static final String ROTATED = "clover-rotated";

    /** Authenticates with private_key_jwt; Keycloak knows its key only from the broker's JWKS. */
    static final String SIGNED = "clover-signed";

    static final String SIGNED_REDIRECT = "clover-signed://cb";

    /** Authenticates with its certificate (mutual TLS) at Keycloak's https side; its tokens are bound to it. */
    static final String MTLS = "clover-mtls";

    static final String MTLS_REDIRECT = "clover-mtls://cb";

    /** Keycloak requires pushed authorization requests of it; the broker runs its PKCE ({@code pkce=broker}). */
    static final String PAR = "clover-par";

    static final String PAR_REDIRECT = "clover-par://cb";

    /** Keycloak's name for a broker behind an egress proxy: only that proxy resolves it. */
    static final String KEYCLOAK_BEHIND_PROXY = "keycloak.test";

    /** The client of the realm {@code partner}: a second upstream of the same broker. */
    static final String PARTNER = "clover-partner";

    static final String PARTNER_REDIRECT = "clover-partner://cb";

    static Path tls;
    static RedisServer redis;
    static KeycloakServer keycloak;
    static BrokerProcess broker;
    static final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() throws Exception {
        redis = RedisServer.start();
        long started = System.nanoTime();
        // Keycloak fetches clover-signed's keys from the broker's /oauth2/jwks: it must know the port first.
        int brokerPort = RedisServer.freePort();
        // Keycloak's https side: a certificate of a CA the JVM does not trust, and clover-mtls' certificate of it.
        tls = Files.createTempDirectory("keycloak-tls");
        // keycloak.test: a name only the test's proxy resolves (KEYCLOAK_BEHIND_PROXY).
        TestCa.issue(tls, "keycloak", "ip:127.0.0.1,dns:" + KEYCLOAK_BEHIND_PROXY);
        TestCa.issue(tls, MTLS, "dns:" + MTLS);
        keycloak = KeycloakServer.start(
                Map.of(
                        "BROKER_JWKS_URL",
                        "http://127.0.0.1:" + brokerPort + "/oauth2/jwks?client_id=" + SIGNED,
                        "BROKER_BACKCHANNEL_LOGOUT_URL",
                        "http://127.0.0.1:" + brokerPort + "/oidc/backchannel-logout"),
                Optional.of(new KeycloakServer.Https(
                        tls.resolve("keycloak.pem"), tls.resolve("keycloak.key"), TestCa.trustStore(tls))));
        System.out.printf(
                "Keycloak started in %d s%n",
                Duration.ofNanos(System.nanoTime() - started).toSeconds());
        Map<String, String> env = BrokerProcess.baseEnv(redis.uri());
        // Discovery only: token and revocation endpoints come from Keycloak's openid-configuration (http on loopback).
        env.put("BROKER_UPSTREAM_ISSUER", keycloak.issuer());
        env.put("BROKER_CLIENTS_CLOVER_CLIENT_ID", Broker.MOBILE);
        env.put("BROKER_CLIENTS_CLOVER_CLIENT_SECRET", SECRET);
        env.put("BROKER_CLIENTS_CLOVER_REDIRECT_URIS", Broker.MOBILE_REDIRECT);
        env.put("BROKER_CLIENTS_SHORT_CLIENT_ID", SHORT);
        env.put("BROKER_CLIENTS_SHORT_CLIENT_SECRET", SHORT_SECRET);
        env.put("BROKER_CLIENTS_SHORT_REDIRECT_URIS", "clover-short://cb");
        env.put("BROKER_CLIENTS_ROTATED_CLIENT_ID", ROTATED);
        env.put("BROKER_CLIENTS_ROTATED_CLIENT_SECRET", "rotated-secret-old-76");
        env.put("BROKER_CLIENTS_ROTATED_REDIRECT_URIS", "clover-rotated://cb");
        env.put("BROKER_CLIENTS_SIGNED_CLIENT_ID", SIGNED);
        env.put("BROKER_CLIENTS_SIGNED_AUTH_METHOD", "private_key_jwt");
        env.put(
                "BROKER_CLIENTS_SIGNED_PRIVATE_KEYS",
                Path.of("src/test/resources/keys/clover-signed-es256.pem")
                        .toAbsolutePath()
                        .toString());
        env.put("BROKER_CLIENTS_SIGNED_REDIRECT_URIS", SIGNED_REDIRECT);
        env.put("BROKER_CLIENTS_PAR_CLIENT_ID", PAR);
        env.put("BROKER_CLIENTS_PAR_CLIENT_SECRET", "par-secret-3b9e");
        env.put("BROKER_CLIENTS_PAR_REDIRECT_URIS", PAR_REDIRECT);
        env.put("BROKER_CLIENTS_PAR_PKCE", "broker");
        env.put("BROKER_CLIENTS_PAR_PAR", "required");
        // The realm's test user has no offline_access role: an online session's refresh token serves as well here.
        env.put("BROKER_CLIENTS_PAR_SCOPE", "openid");
        // The realm partner, a second upstream with its own client.
        env.put("BROKER_UPSTREAMS_PARTNER_ISSUER", keycloak.issuer(KeycloakServer.PARTNER_REALM));
        env.put("BROKER_CLIENTS_PARTNER_CLIENT_ID", PARTNER);
        env.put("BROKER_CLIENTS_PARTNER_CLIENT_SECRET", "partner-secret-51c2");
        env.put("BROKER_CLIENTS_PARTNER_REDIRECT_URIS", PARTNER_REDIRECT);
        env.put("BROKER_CLIENTS_PARTNER_UPSTREAM", "partner");
        env.put("BROKER_SESSION_ROTATION_GRACE", "1s");
        // Every refresh goes to Keycloak, none is answered again from the session.
        env.put("BROKER_SESSION_REFRESH_REUSE_WINDOW", "0s");
        broker = BrokerProcess.launch(env, brokerPort).awaitReady();
    }

    @AfterAll
    static void stop() throws Exception {
        if (broker != null) {
            broker.close();
        }
        if (keycloak != null) {
            keycloak.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    /**
     * A broker whose only way to Keycloak is an egress HTTP proxy with credentials: it knows Keycloak as
     * {@code keycloak.test}, a name only the proxy resolves, over https with the company CA. Discovery, the exchange,
     * two refreshes and the revocation all succeed, so every one went through a {@code CONNECT} tunnel of the proxy.
     * Alice's browser reaches {@code keycloak.test} through a proxy of its own (Keycloak names its issuer after the
     * host a login came in at, and refuses a token at another).
     */
    @Test
    void throughAnEgressProxyOnly() throws Exception {
        Map<String, InetAddress> hosts = Map.of(KEYCLOAK_BEHIND_PROXY, InetAddress.getLoopbackAddress());
        try (ConnectProxy proxy = new ConnectProxy("broker", "proxy-pass-4e1a", hosts);
                ConnectProxy browsers = new ConnectProxy(null, null, hosts)) {
            String issuer = keycloak.httpsIssuer().replace("127.0.0.1", KEYCLOAK_BEHIND_PROXY);
            Map<String, String> env = BrokerProcess.baseEnv(redis.uri());
            env.put("BROKER_UPSTREAM_ISSUER", issuer);
            env.put("BROKER_UPSTREAM_TRUST_CERTIFICATES", tls.resolve("ca.pem").toString());
            env.put("BROKER_UPSTREAM_PROXY_URL", "http://127.0.0.1:" + proxy.port());
            env.put("BROKER_UPSTREAM_PROXY_USERNAME", "broker");
            env.put("BROKER_UPSTREAM_PROXY_PASSWORD", "proxy-pass-4e1a");
            env.put("BROKER_CLIENTS_CLOVER_CLIENT_ID", Broker.MOBILE);
            env.put("BROKER_CLIENTS_CLOVER_CLIENT_SECRET", SECRET);
            env.put("BROKER_CLIENTS_CLOVER_REDIRECT_URIS", Broker.MOBILE_REDIRECT);
            env.put("BROKER_SESSION_REFRESH_REUSE_WINDOW", "0s");
            try (BrokerProcess proxied = BrokerProcess.launch(env).awaitReady()) {
                String code = keycloak.authorizationCode(
                        issuer,
                        Broker.MOBILE,
                        Broker.MOBILE_REDIRECT,
                        Broker.VERIFIER,
                        "alice",
                        "alice-password-1",
                        ProxySelector.of(new InetSocketAddress("127.0.0.1", browsers.port())));
                String handle = exchangeCodeAt(proxied, Broker.MOBILE, code, Broker.MOBILE_REDIRECT)
                        .statusCode(200)
                        .extract()
                        .path("refresh_token");
                for (int i = 0; i < 2; i++) {
                    handle = refreshAt(proxied, Broker.MOBILE, handle)
                            .statusCode(200)
                            .extract()
                            .path("refresh_token");
                }
                given().baseUri(proxied.baseUrl())
                        .contentType(ContentType.URLENC)
                        .formParams(Broker.params("client_id", Broker.MOBILE, "token", handle))
                        .post("/oauth2/revoke")
                        .then()
                        .statusCode(200);
                String metrics = metrics(proxied);
                assertEquals(3, upstreamCalls(metrics, "token", "2xx"), metrics);
                assertEquals(1, upstreamCalls(metrics, "revocation", "2xx"), metrics);
            }
            assertTrue(
                    proxy.tunnels().stream().allMatch(tunnel -> tunnel.startsWith(KEYCLOAK_BEHIND_PROXY + ":")),
                    proxy.tunnels().toString());
            assertTrue(!proxy.tunnels().isEmpty(), "the broker's calls went through the proxy");
            assertEquals(List.of(), proxy.refused(), "never without the credentials");
        }
    }

    /**
     * Two realms as two upstreams of one broker: alice's sessions at each refresh side by side, each at its own realm
     * (Keycloak's one-time refresh tokens would refuse a token of the other realm, and each access token names its
     * realm). Signing alice out everywhere in the realm {@code partner} makes Keycloak post a back-channel logout
     * token to the broker, which ends her session of that realm only.
     */
    @Test
    void twoRealmsAsTwoUpstreamsAndALogoutAtOneEndsOnlyItsSessions() throws Exception {
        String atInterop = exchangeAtBroker(Broker.MOBILE, Broker.MOBILE_REDIRECT)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        String atPartner = exchangeAt(broker, keycloak.issuer(KeycloakServer.PARTNER_REALM), PARTNER, PARTNER_REDIRECT)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        for (int i = 0; i < 2; i++) {
            JsonPath interop = JsonPath.from(refreshAtBroker(Broker.MOBILE, atInterop)
                    .statusCode(200)
                    .extract()
                    .asString());
            JsonPath partner = JsonPath.from(refreshAtBroker(PARTNER, atPartner)
                    .statusCode(200)
                    .extract()
                    .asString());
            assertEquals(
                    keycloak.issuer(), claims(interop.getString("access_token")).getString("iss"));
            assertEquals(
                    keycloak.issuer(KeycloakServer.PARTNER_REALM),
                    claims(partner.getString("access_token")).getString("iss"));
            atInterop = interop.getString("refresh_token");
            atPartner = partner.getString("refresh_token");
        }
        assertEquals(
                3,
                upstreamCalls(metrics(broker), "upstream=\"partner\"", "token", "2xx"),
                "one exchange and two refreshes at the realm partner");

        keycloak.logOutEverywhere(KeycloakServer.PARTNER_REALM, "alice");

        Await.until(
                "the broker accepted Keycloak's logout token",
                Duration.ofSeconds(10),
                () -> backchannelLogouts(metrics(broker), "accepted") == 1);
        refreshAtBroker(PARTNER, atPartner).statusCode(400).body("error", equalTo("invalid_grant"));
        refreshAtBroker(Broker.MOBILE, atInterop).statusCode(200);
    }

    /** The payload of a JWS, unverified: Keycloak's own access token, to read which realm issued it. */
    private static JsonPath claims(String jws) {
        return JsonPath.from(new String(Base64.getUrlDecoder().decode(jws.split("\\.")[1]), StandardCharsets.UTF_8));
    }

    private static String metrics(BrokerProcess at) {
        return given().baseUri(at.managementUrl())
                .get("/q/metrics")
                .then()
                .statusCode(200)
                .extract()
                .asString();
    }

    /** {@code broker_backchannel_logouts_total} of one outcome; 0 when there is none. */
    private static int backchannelLogouts(String metrics, String outcome) {
        return metrics.lines()
                .filter(line -> line.startsWith("broker_backchannel_logouts_total{")
                        && line.contains("outcome=\"" + outcome + "\""))
                .mapToInt(line -> (int) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                .sum();
    }

    @Test
    void codeExchangeAndRotatingRefreshesThroughTheBroker() throws Exception {
        String handle = exchangeAtBroker(Broker.MOBILE, Broker.MOBILE_REDIRECT)
                .statusCode(200)
                .header("Cache-Control", "no-store")
                .extract()
                .path("refresh_token");
        String previousAccess = null;
        // Each refresh spends Keycloak's one-time refresh token: the next one succeeds only if the broker stored the
        // rotated token Keycloak answered with.
        for (int i = 0; i < 3; i++) {
            JsonPath refreshed = JsonPath.from(refreshAtBroker(Broker.MOBILE, handle)
                    .statusCode(200)
                    .extract()
                    .asString());
            assertNotEquals(handle, refreshed.getString("refresh_token"), "the broker rotates its handle");
            assertNotEquals(previousAccess, refreshed.getString("access_token"));
            handle = refreshed.getString("refresh_token");
            previousAccess = refreshed.getString("access_token");
        }
        JsonPath introspected = introspect(previousAccess);
        assertTrue(introspected.getBoolean("active"), "Keycloak issued the access token the broker handed out");
        assertEquals(keycloak.issuer(), introspected.getString("iss"));
        assertEquals("alice", introspected.getString("preferred_username"));
    }

    /**
     * {@code private_key_jwt} (Keycloak's "Signed JWT" client authenticator, ES256): Keycloak has no secret and no key
     * of this client, only the URL of the broker's JWKS, so each call succeeds only if Keycloak fetched the key from the
     * broker and the broker's assertion passed Keycloak's checks (signature, {@code aud}, {@code exp}, a {@code jti}
     * never seen before). Revocation authenticates the same way.
     */
    @Test
    void privateKeyJwtWithTheKeyKeycloakFetchesFromTheBroker() throws Exception {
        JsonPath issued = JsonPath.from(exchangeAtBroker(SIGNED, SIGNED_REDIRECT)
                .statusCode(200)
                .extract()
                .asString());
        String handle = issued.getString("refresh_token");
        for (int i = 0; i < 2; i++) {
            handle = refreshAtBroker(SIGNED, handle).statusCode(200).extract().path("refresh_token");
        }
        JsonPath introspected = introspect(issued.getString("access_token"));
        assertTrue(introspected.getBoolean("active"), "Keycloak issued it");
        assertEquals(SIGNED, introspected.getString("azp"));

        given().baseUri(broker.baseUrl())
                .contentType(ContentType.URLENC)
                .formParams(Broker.params("client_id", SIGNED, "token", handle))
                .post("/oauth2/revoke")
                .then()
                .statusCode(200);
        // The revocation reached Keycloak authenticated: it ended the client session (a failed one would be queued in
        // the outbox and the token would stay active).
        assertEquals(false, introspect(issued.getString("access_token")).getBoolean("active"));
    }

    /**
     * An upstream served over https with a certificate of a CA the JVM does not trust, and mutual TLS (Keycloak's
     * "X509 Certificate" client authenticator, certificate-bound tokens, RFC 8705): a second broker, configured with the
     * https issuer, that CA ({@code trust-certificates}) and the client's key and certificate. Keycloak binds the
     * tokens to the broker's certificate and refreshes only when the same certificate comes with the refresh token.
     * Without the CA, the broker is not ready and says which setting is missing.
     */
    @Test
    void mutualTlsAtAnHttpsUpstreamOfACompanyCa() throws Exception {
        Path clientPem = Files.writeString(
                tls.resolve("clover-mtls-client.pem"),
                Files.readString(tls.resolve(MTLS + ".key")) + Files.readString(tls.resolve(MTLS + ".pem")));
        Map<String, String> env = BrokerProcess.baseEnv(redis.uri());
        env.put("BROKER_UPSTREAM_ISSUER", keycloak.httpsIssuer());
        env.put("BROKER_UPSTREAM_TRUST_CERTIFICATES", tls.resolve("ca.pem").toString());
        env.put("BROKER_CLIENTS_MTLS_CLIENT_ID", MTLS);
        env.put("BROKER_CLIENTS_MTLS_AUTH_METHOD", "tls_client_auth");
        env.put("BROKER_CLIENTS_MTLS_TLS_CLIENT_CERTIFICATE", clientPem.toString());
        env.put("BROKER_CLIENTS_MTLS_REDIRECT_URIS", MTLS_REDIRECT);
        env.put("BROKER_SESSION_REFRESH_REUSE_WINDOW", "0s");
        try (BrokerProcess https = BrokerProcess.launch(env).awaitReady()) {
            JsonPath issued = JsonPath.from(exchangeAt(https, keycloak.httpsIssuer(), MTLS, MTLS_REDIRECT)
                    .statusCode(200)
                    .extract()
                    .asString());
            String thumbprint = Base64.getUrlEncoder()
                    .withoutPadding()
                    .encodeToString(MessageDigest.getInstance("SHA-256")
                            .digest(CertificateFactory.getInstance("X.509")
                                    .generateCertificate(Files.newInputStream(tls.resolve(MTLS + ".pem")))
                                    .getEncoded()));
            JsonPath accessToken = JsonPath.from(new String(
                    Base64.getUrlDecoder()
                            .decode(issued.getString("access_token").split("\\.")[1]),
                    StandardCharsets.UTF_8));
            assertEquals(keycloak.httpsIssuer(), accessToken.getString("iss"));
            assertEquals(thumbprint, accessToken.getString("cnf.'x5t#S256'"), "bound to the broker's certificate");

            String handle = issued.getString("refresh_token");
            for (int i = 0; i < 2; i++) {
                handle =
                        refreshAt(https, MTLS, handle).statusCode(200).extract().path("refresh_token");
            }
            given().baseUri(https.baseUrl())
                    .contentType(ContentType.URLENC)
                    .formParams(Broker.params("client_id", MTLS, "token", handle))
                    .post("/oauth2/revoke")
                    .then()
                    .statusCode(200);
            // Keycloak confirmed each call made with the certificate: the exchange, both refreshes, the revocation.
            String metrics = given().baseUri(https.managementUrl())
                    .get("/q/metrics")
                    .then()
                    .extract()
                    .asString();
            assertEquals(3, upstreamCalls(metrics, "token", "2xx"), metrics);
            assertEquals(1, upstreamCalls(metrics, "revocation", "2xx"), metrics);
        }

        env.remove("BROKER_UPSTREAM_TRUST_CERTIFICATES");
        try (BrokerProcess untrusted = BrokerProcess.launch(env).awaitListening()) {
            Await.until("the WARN that names the missing setting", Duration.ofSeconds(30), () -> {
                try {
                    return untrusted.output().contains("broker.upstream.trust-certificates");
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            assertTrue(untrusted.output().contains("broker.upstream.trust-certificates"), untrusted.output());
            given().get(untrusted.healthUrl("ready")).then().statusCode(503);
        }
    }

    /**
     * Pushed authorization requests (RFC 9126) for a {@code pkce=broker} client that Keycloak requires them of: the
     * broker posts the request to Keycloak's PAR endpoint (found by discovery), the browser carries only
     * {@code client_id} and {@code request_uri}, the user signs in, and the code and state come back to the app, which
     * redeems them with its own verifier.
     */
    @Test
    void pushedAuthorizationRequestsForAClientKeycloakRequiresThemOf() throws Exception {
        JsonPath started = JsonPath.from(given().baseUri(broker.baseUrl())
                .contentType(ContentType.URLENC)
                .formParams(Broker.params(
                        "client_id",
                        PAR,
                        "redirect_uri",
                        PAR_REDIRECT,
                        "code_challenge",
                        KeycloakServer.challenge(Broker.VERIFIER)))
                .post("/oauth2/authorization-request")
                .then()
                .statusCode(200)
                .extract()
                .asString());
        URI authorize = URI.create(started.getString("authorization_url"));
        assertEquals(
                keycloak.issuer() + "/protocol/openid-connect/auth",
                authorize.toString().split("\\?")[0]);
        assertEquals(
                List.of("client_id", "request_uri"),
                Arrays.stream(authorize.getRawQuery().split("&"))
                        .map(pair -> pair.substring(0, pair.indexOf('=')))
                        .toList(),
                "nothing of the request but its reference travels through the browser");

        URI back = keycloak.signIn(authorize, PAR_REDIRECT, "alice", "alice-password-1");
        Map<String, String> answer = Broker.formOf(back.getRawQuery());
        assertEquals(started.getString("state"), answer.get("state"));
        given().baseUri(broker.baseUrl())
                .contentType(ContentType.URLENC)
                .formParams(Broker.params(
                        "grant_type",
                        "authorization_code",
                        "client_id",
                        PAR,
                        "code",
                        answer.get("code"),
                        "state",
                        answer.get("state"),
                        "redirect_uri",
                        PAR_REDIRECT,
                        "code_verifier",
                        Broker.VERIFIER))
                .post("/oauth2/token")
                .then()
                .statusCode(200)
                .body("refresh_token", not(emptyOrNullString()));
    }

    /** {@code broker_upstream_requests_seconds_count} of one endpoint and outcome; 0 when there is none. */
    private static int upstreamCalls(String metrics, String endpoint, String outcome) {
        return upstreamCalls(metrics, "", endpoint, outcome);
    }

    /** The same on the lines that also hold {@code label}, e.g. {@code upstream="partner"}. */
    private static int upstreamCalls(String metrics, String label, String endpoint, String outcome) {
        return metrics.lines()
                .filter(line -> line.startsWith("broker_upstream_requests_seconds_count{")
                        && line.contains(label)
                        && line.contains("endpoint=\"" + endpoint + "\"")
                        && line.contains("outcome=\"" + outcome + "\""))
                .mapToInt(line -> (int) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                .sum();
    }

    @Test
    void keycloakDetectsAReusedRefreshTokenAndEndsTheClientSession() throws Exception {
        String first = JsonPath.from(exchangeAtKeycloak(Broker.MOBILE, Broker.MOBILE_REDIRECT, SECRET))
                .getString("refresh_token");
        HttpResponse<String> rotated = refreshAtKeycloak(Broker.MOBILE, SECRET, first);
        assertEquals(200, rotated.statusCode(), rotated.body());
        String second = JsonPath.from(rotated.body()).getString("refresh_token");
        assertNotEquals(first, second, "one-time refresh tokens rotate");

        HttpResponse<String> reuse = refreshAtKeycloak(Broker.MOBILE, SECRET, first);
        assertEquals(400, reuse.statusCode());
        assertEquals(
                "{\"error\":\"invalid_grant\",\"error_description\":\"Maximum allowed refresh token reuse exceeded\"}",
                reuse.body());
        assertEquals("no-store", reuse.headers().firstValue("Cache-Control").orElse(""));
        // Reuse ends the client session: the token that replaced the reused one is dead too.
        HttpResponse<String> successor = refreshAtKeycloak(Broker.MOBILE, SECRET, second);
        assertEquals(400, successor.statusCode());
        assertEquals(
                "{\"error\":\"invalid_grant\",\"error_description\":\"Session doesn't have required client\"}",
                successor.body());
    }

    @Test
    void anExpiredRefreshTokenIsInvalidGrantAtKeycloakAndAtTheBroker() throws Exception {
        // clover-short's client sessions idle out after 2 s (client.session.idle.timeout in the realm).
        String upstream = JsonPath.from(exchangeAtKeycloak(SHORT, "clover-short://cb", SHORT_SECRET))
                .getString("refresh_token");
        String handle = exchangeAtBroker(SHORT, "clover-short://cb")
                .statusCode(200)
                .extract()
                .path("refresh_token");
        Thread.sleep(4_000);

        HttpResponse<String> expired = refreshAtKeycloak(SHORT, SHORT_SECRET, upstream);
        assertEquals(400, expired.statusCode());
        assertEquals("{\"error\":\"invalid_grant\",\"error_description\":\"Token is not active\"}", expired.body());

        // The broker knows the upstream token's end from Keycloak's refresh_expires_in: it ends the session itself
        // (reason upstream_lifetime) instead of spending a call on a dead token.
        refreshAtBroker(SHORT, handle)
                .statusCode(400)
                .body("error", equalTo("invalid_grant"))
                .body("error_description", equalTo("The refresh token is invalid, expired or revoked"));
        String metrics = given().baseUri(broker.managementUrl())
                .get("/q/metrics")
                .then()
                .statusCode(200)
                .extract()
                .asString();
        assertTrue(
                Pattern.compile("(?m)^broker_sessions_ended_total\\{[^}]*reason=\"upstream_lifetime\"[^}]*} 1\\.0$")
                        .matcher(metrics)
                        .find(),
                metrics);
    }

    private static ValidatableResponse refreshAtBroker(String clientId, String handle) {
        return refreshAt(broker, clientId, handle);
    }

    private static ValidatableResponse refreshAt(BrokerProcess at, String clientId, String handle) {
        return given().baseUri(at.baseUrl())
                .contentType(ContentType.URLENC)
                .formParams(
                        Broker.params("grant_type", "refresh_token", "client_id", clientId, "refresh_token", handle))
                .post("/oauth2/token")
                .then();
    }

    @Test
    void badClientCredentials() throws Exception {
        String refreshToken = JsonPath.from(exchangeAtKeycloak(Broker.MOBILE, Broker.MOBILE_REDIRECT, SECRET))
                .getString("refresh_token");
        // A known client with a wrong secret: 401 and unauthorized_client, not RFC 6749's invalid_client.
        HttpResponse<String> wrongSecret = refreshAtKeycloak(Broker.MOBILE, "not-the-secret", refreshToken);
        assertEquals(401, wrongSecret.statusCode());
        assertEquals(
                "{\"error\":\"unauthorized_client\",\"error_description\":\"Invalid client or Invalid client credentials\"}",
                wrongSecret.body());
        HttpResponse<String> unknown = refreshAtKeycloak("clover-nobody", "not-the-secret", refreshToken);
        assertEquals(401, unknown.statusCode());
        assertEquals(
                "{\"error\":\"invalid_client\",\"error_description\":\"Invalid client or Invalid client credentials\"}",
                unknown.body());

        // The broker holds a secret Keycloak no longer accepts: an operator's problem, a 502, never the user's.
        exchangeAtBroker(ROTATED, "clover-rotated://cb")
                .statusCode(502)
                .body("error", equalTo("server_error"))
                .body(
                        "error_description",
                        equalTo("The upstream authorization server rejected the broker's client configuration"));
    }

    @Test
    void revocationAtTheBrokerRevokesAtKeycloak() throws Exception {
        JsonPath issued = JsonPath.from(exchangeAtBroker(Broker.MOBILE, Broker.MOBILE_REDIRECT)
                .statusCode(200)
                .extract()
                .asString());
        assertTrue(introspect(issued.getString("access_token")).getBoolean("active"));

        given().baseUri(broker.baseUrl())
                .contentType(ContentType.URLENC)
                .formParams(Broker.params(
                        "client_id",
                        Broker.MOBILE,
                        "token",
                        issued.getString("refresh_token"),
                        "token_type_hint",
                        "refresh_token"))
                .post("/oauth2/revoke")
                .then()
                .statusCode(200);

        // Keycloak revoked the upstream refresh token and with it the client session its access token belongs to.
        assertEquals(false, introspect(issued.getString("access_token")).getBoolean("active"));
        refreshAtBroker(Broker.MOBILE, issued.getString("refresh_token"))
                .statusCode(400)
                .body("error", equalTo("invalid_grant"))
                .body("error_description", equalTo("The refresh token is invalid, expired or revoked"));
    }

    @Test
    void anRfc7009RevokedRefreshTokenIsDeadAtKeycloak() throws Exception {
        String refreshToken = JsonPath.from(exchangeAtKeycloak(Broker.MOBILE, Broker.MOBILE_REDIRECT, SECRET))
                .getString("refresh_token");
        HttpResponse<String> revoked = postToKeycloak(
                keycloak.revocationEndpoint(),
                Broker.MOBILE,
                SECRET,
                Map.of("token", refreshToken, "token_type_hint", "refresh_token"));
        assertEquals(200, revoked.statusCode(), revoked.body());
        HttpResponse<String> after = refreshAtKeycloak(Broker.MOBILE, SECRET, refreshToken);
        assertEquals(400, after.statusCode());
        assertEquals("{\"error\":\"invalid_grant\",\"error_description\":\"Session not active\"}", after.body());
    }

    /**
     * Issue 19's case against one-time refresh tokens: the app hangs up while Keycloak is slow, then retries with the
     * same handle. The refresh committed without its caller, so the retry gets its result and Keycloak's session lives:
     * the spent refresh token was never presented again (which Keycloak would answer by ending the session, see
     * {@link #keycloakDetectsAReusedRefreshTokenAndEndsTheClientSession}).
     */
    @Test
    void anAppThatHangsUpDuringASlowRefreshKeepsItsKeycloakSession() throws Exception {
        URI token = URI.create(keycloak.tokenEndpoint());
        try (LatencyProxy proxy = LatencyProxy.start(token.getPort())) {
            Map<String, String> env = BrokerProcess.baseEnv(redis.uri());
            env.put("BROKER_UPSTREAM_TOKEN_ENDPOINT", behind(proxy, keycloak.tokenEndpoint()));
            env.put("BROKER_UPSTREAM_REVOCATION_ENDPOINT", behind(proxy, keycloak.revocationEndpoint()));
            env.put("BROKER_CLIENTS_CLOVER_CLIENT_ID", Broker.MOBILE);
            env.put("BROKER_CLIENTS_CLOVER_CLIENT_SECRET", SECRET);
            env.put("BROKER_CLIENTS_CLOVER_REDIRECT_URIS", Broker.MOBILE_REDIRECT);
            env.put("BROKER_SESSION_REFRESH_REUSE_WINDOW", "0s");
            try (BrokerProcess slow = BrokerProcess.launch(env).awaitReady()) {
                // Signed in through the proxy too: Keycloak's tokens name the address the login came in at.
                String code = keycloak.authorizationCode(
                        behind(proxy, keycloak.issuer()),
                        Broker.MOBILE,
                        Broker.MOBILE_REDIRECT,
                        Broker.VERIFIER,
                        "alice",
                        "alice-password-1");
                String handle = given().baseUri(slow.baseUrl())
                        .contentType(ContentType.URLENC)
                        .formParams(Broker.params(
                                "grant_type", "authorization_code",
                                "client_id", Broker.MOBILE,
                                "code", code,
                                "redirect_uri", Broker.MOBILE_REDIRECT,
                                "code_verifier", Broker.VERIFIER))
                        .post("/oauth2/token")
                        .then()
                        .statusCode(200)
                        .extract()
                        .path("refresh_token");

                // Each way takes 1.5 s through the proxy; the app gives up after 0.3 s and sends the same refresh
                // again.
                proxy.latency(1_500);
                String body = "grant_type=refresh_token&client_id=" + Broker.MOBILE + "&refresh_token=" + handle;
                URI broker = URI.create(slow.baseUrl());
                try (Socket app = new Socket(InetAddress.getLoopbackAddress(), broker.getPort())) {
                    app.getOutputStream()
                            .write(("POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\n"
                                            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
                                            + body.length() + "\r\n\r\n" + body)
                                    .getBytes(StandardCharsets.US_ASCII));
                    Thread.sleep(300);
                }
                io.restassured.response.Response retry = given().baseUri(slow.baseUrl())
                        .contentType(ContentType.URLENC)
                        .formParams(Broker.params(
                                "grant_type", "refresh_token", "client_id", Broker.MOBILE, "refresh_token", handle))
                        .post("/oauth2/token");
                assertEquals(200, retry.statusCode(), retry.asString() + "\n" + slow.output());
                JsonPath retried = JsonPath.from(retry.asString());
                proxy.latency(0);

                assertNotEquals(handle, retried.getString("refresh_token"));
                // The retry joined the refresh its hung-up first attempt had started: one upstream call for both.
                String metrics = given().baseUri(slow.managementUrl())
                        .get("/q/metrics")
                        .then()
                        .statusCode(200)
                        .extract()
                        .asString();
                assertTrue(metrics.contains("broker_refresh_coalesced_total 1.0"), metrics);
                // The session at Keycloak is alive: the broker holds the token Keycloak rotated to while nobody waited.
                given().baseUri(slow.baseUrl())
                        .contentType(ContentType.URLENC)
                        .formParams(Broker.params(
                                "grant_type",
                                "refresh_token",
                                "client_id",
                                Broker.MOBILE,
                                "refresh_token",
                                retried.getString("refresh_token")))
                        .post("/oauth2/token")
                        .then()
                        .statusCode(200);
            }
        }
    }

    /** The same URL on the proxy's port. */
    private static String behind(LatencyProxy proxy, String url) {
        URI u = URI.create(url);
        return u.getScheme() + "://127.0.0.1:" + proxy.port() + u.getRawPath();
    }

    private static ValidatableResponse exchangeAtBroker(String clientId, String redirectUri) throws Exception {
        return exchangeAt(broker, keycloak.issuer(), clientId, redirectUri);
    }

    /** Alice signs in at {@code issuer} (http or https side); the app redeems the code at the broker {@code at}. */
    private static ValidatableResponse exchangeAt(BrokerProcess at, String issuer, String clientId, String redirectUri)
            throws Exception {
        String code =
                keycloak.authorizationCode(issuer, clientId, redirectUri, Broker.VERIFIER, "alice", "alice-password-1");
        return exchangeCodeAt(at, clientId, code, redirectUri);
    }

    /** The app redeems {@code code} (PKCE with {@link Broker#VERIFIER}) at the broker {@code at}. */
    private static ValidatableResponse exchangeCodeAt(
            BrokerProcess at, String clientId, String code, String redirectUri) {
        return given().baseUri(at.baseUrl())
                .contentType(ContentType.URLENC)
                .formParams(Broker.params(
                        "grant_type",
                        "authorization_code",
                        "client_id",
                        clientId,
                        "code",
                        code,
                        "redirect_uri",
                        redirectUri,
                        "code_verifier",
                        Broker.VERIFIER))
                .post("/oauth2/token")
                .then();
    }

    /** The code flow straight against Keycloak, as the broker would make it; the token response's body. */
    private static String exchangeAtKeycloak(String clientId, String redirectUri, String secret) throws Exception {
        String code = keycloak.authorizationCode(clientId, redirectUri, Broker.VERIFIER, "alice", "alice-password-1");
        HttpResponse<String> r = postToKeycloak(
                keycloak.tokenEndpoint(),
                clientId,
                secret,
                Map.of(
                        "grant_type",
                        "authorization_code",
                        "code",
                        code,
                        "redirect_uri",
                        redirectUri,
                        "code_verifier",
                        Broker.VERIFIER));
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    private static HttpResponse<String> refreshAtKeycloak(String clientId, String secret, String refreshToken)
            throws Exception {
        return postToKeycloak(
                keycloak.tokenEndpoint(),
                clientId,
                secret,
                Map.of("grant_type", "refresh_token", "refresh_token", refreshToken));
    }

    private static JsonPath introspect(String accessToken) throws Exception {
        HttpResponse<String> r =
                postToKeycloak(keycloak.introspectionEndpoint(), Broker.MOBILE, SECRET, Map.of("token", accessToken));
        assertEquals(200, r.statusCode(), r.body());
        return JsonPath.from(r.body());
    }

    /** client_secret_basic, as the broker authenticates (the secrets here need no form-encoding). */
    private static HttpResponse<String> postToKeycloak(
            String endpoint, String clientId, String secret, Map<String, String> form) throws Exception {
        String basic = Base64.getEncoder().encodeToString((clientId + ":" + secret).getBytes(StandardCharsets.UTF_8));
        return http.send(
                HttpRequest.newBuilder(URI.create(endpoint))
                        .timeout(Duration.ofSeconds(30))
                        .header("Authorization", "Basic " + basic)
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .POST(HttpRequest.BodyPublishers.ofString(KeycloakServer.form(form)))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
