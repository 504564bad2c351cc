package dev.tokenbroker.upstream;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import jakarta.ws.rs.core.Form;

import org.jose4j.json.JsonUtil;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.junit.jupiter.api.Test;

import dev.tokenbroker.config.BrokerConfig.AssertionAudience;
import dev.tokenbroker.config.ClientSecret;
import dev.tokenbroker.config.SigningKey;
import dev.tokenbroker.config.SigningKeys;
import io.vertx.core.http.RequestOptions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What each client authentication method adds to an upstream call, and that none shows its secret or key. */
class ClientAuthenticationTest {

    private static final String SECRET = "s:e+c%r et \u00e9";
    private static final URI TOKEN_ENDPOINT = URI.create("https://login.example.com/connect/token");
    private static final URI REVOCATION_ENDPOINT = URI.create("https://login.example.com/connect/revocation");
    private static final UpstreamEndpoints UPSTREAM = new UpstreamEndpoints(
            Optional.of("https://login.example.com"), TOKEN_ENDPOINT, Optional.of(REVOCATION_ENDPOINT));
    private static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");

    private static String decoded(String header) {
        return new String(Base64.getDecoder().decode(header.substring("Basic ".length())), StandardCharsets.UTF_8);
    }

    @Test
    void idAndSecretAreFormUrlEncodedBeforeBase64() {
        assertEquals(
                "clover:s%3Ae%2Bc%25r+et+%C3%A9", decoded(ClientSecretBasic.header("clover", "s:e+c%r et \u00e9")));
        assertEquals("my+app%3A1:s%3Dcr%25t", decoded(ClientSecretBasic.header("my app:1", "s=cr%t")));
        assertEquals("clover:plain-Secret_1.%7E", decoded(ClientSecretBasic.header("clover", "plain-Secret_1.~")));
    }

    @Test
    void basicSetsOnlyTheAuthorizationHeader() {
        RequestOptions request = new RequestOptions();
        Form form = new Form().param("grant_type", "refresh_token");
        ClientAuthentication basic = new ClientSecretBasic("clover", ClientSecret.of(SECRET));

        basic.apply(UPSTREAM, TOKEN_ENDPOINT, request, form);

        assertEquals(
                "clover:s%3Ae%2Bc%25r+et+%C3%A9", decoded(request.getHeaders().get("Authorization")));
        assertEquals(List.of("grant_type"), List.copyOf(form.asMap().keySet()), "nothing in the form");
        assertFalse(basic.toString().contains("s:e"));
    }

    @Test
    void postAddsIdAndSecretToTheFormAndNoHeader() {
        RequestOptions request = new RequestOptions();
        Form form = new Form().param("grant_type", "refresh_token");
        ClientAuthentication post = new ClientSecretPost("clover-web", ClientSecret.of(SECRET));

        post.apply(UPSTREAM, TOKEN_ENDPOINT, request, form);

        assertEquals(List.of("clover-web"), form.asMap().get("client_id"));
        assertEquals(List.of(SECRET), form.asMap().get("client_secret"));
        assertNull(request.getHeaders(), "no header");
        assertFalse(post.toString().contains("s:e"));
    }

    @Test
    void privateKeyJwtSendsASignedAssertionInTheFormAndNoHeader() throws Exception {
        SigningKeys keys = SigningKeys.read(
                List.of(Path.of("src/test/resources/keys/clover-signed-es256.pem")), Optional.empty(), "");
        SigningKey key = keys.signing();
        ClientAuthentication jwt = new PrivateKeyJwt(
                "clover-signed", keys, AssertionAudience.TOKEN_ENDPOINT, Clock.fixed(NOW, ZoneOffset.UTC));
        RequestOptions request = new RequestOptions();
        Form form = new Form().param("grant_type", "refresh_token");

        jwt.apply(UPSTREAM, TOKEN_ENDPOINT, request, form);

        assertNull(request.getHeaders(), "no header");
        assertEquals(
                List.of("grant_type", "client_id", "client_assertion_type", "client_assertion"),
                List.copyOf(form.asMap().keySet()));
        assertEquals(List.of("clover-signed"), form.asMap().get("client_id"));
        assertEquals(
                List.of("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                form.asMap().get("client_assertion_type"));
        JsonWebSignature assertion =
                verified(form.asMap().get("client_assertion").get(0), key);
        assertEquals("ES256", assertion.getAlgorithmHeaderValue());
        assertEquals(key.keyId(), assertion.getKeyIdHeaderValue());
        assertEquals("JWT", assertion.getHeader("typ"));
        assertEquals(Set.of("alg", "kid", "typ"), headerNames(assertion), "no certificate, no thumbprint");
        JwtClaims claims = JwtClaims.parse(assertion.getPayload());
        assertEquals("clover-signed", claims.getIssuer());
        assertEquals("clover-signed", claims.getSubject());
        assertEquals(List.of("https://login.example.com/connect/token"), claims.getAudience());
        assertEquals(NOW.getEpochSecond(), claims.getIssuedAt().getValue());
        assertEquals(NOW.getEpochSecond() + 60, claims.getExpirationTime().getValue());
        assertEquals(
                Set.of("iss", "sub", "aud", "iat", "exp", "jti"),
                claims.getClaimNames(),
                "nothing but what RFC 7523 asks for");

        Form second = new Form();
        jwt.apply(UPSTREAM, TOKEN_ENDPOINT, new RequestOptions(), second);
        String secondJti = JwtClaims.parse(
                        verified(second.asMap().get("client_assertion").get(0), key)
                                .getPayload())
                .getJwtId();
        assertNotEquals(claims.getJwtId(), secondJti, "every call has its own jti");
        assertEquals("private_key_jwt[SigningKeys[SigningKey[kid=" + key.keyId() + ", alg=ES256]]]", jwt.toString());
    }

    @Test
    void privateKeyJwtMayNameTheIssuerOrTheEndpointCalledAsAudience() throws Exception {
        SigningKeys keys = SigningKeys.read(
                List.of(Path.of("src/test/resources/keys/clover-signed-next-rs256.pem")), Optional.empty(), "");
        SigningKey key = keys.signing();

        assertEquals(
                List.of("https://login.example.com"), audience(keys, AssertionAudience.ISSUER, REVOCATION_ENDPOINT));
        assertEquals(
                List.of(REVOCATION_ENDPOINT.toString()),
                audience(keys, AssertionAudience.ENDPOINT, REVOCATION_ENDPOINT));
        assertEquals(
                List.of(TOKEN_ENDPOINT.toString()),
                audience(keys, AssertionAudience.TOKEN_ENDPOINT, REVOCATION_ENDPOINT),
                "the token endpoint also on a revocation call");
    }

    /** The {@code aud} of an assertion for a call to {@code endpoint}. */
    private static List<String> audience(SigningKeys keys, AssertionAudience audience, URI endpoint) throws Exception {
        Form form = new Form();
        new PrivateKeyJwt("clover-signed", keys, audience, Clock.systemUTC())
                .apply(UPSTREAM, endpoint, new RequestOptions(), form);
        JsonWebSignature assertion =
                verified(form.asMap().get("client_assertion").get(0), keys.signing());
        assertEquals("RS256", assertion.getAlgorithmHeaderValue());
        return JwtClaims.parse(assertion.getPayload()).getAudience();
    }

    @Test
    void tlsClientAuthNamesTheClientAndLeavesTheProofToTheConnection() {
        RequestOptions request = new RequestOptions();
        Form form = new Form().param("grant_type", "refresh_token");
        Path pem = Path.of("/etc/token-broker/client-keys/clover-0.pem");
        ClientAuthentication mtls = new TlsClientAuth("clover-mtls", pem);

        mtls.apply(UPSTREAM, TOKEN_ENDPOINT, request, form);

        assertNull(request.getHeaders(), "no header");
        assertEquals(
                List.of("grant_type", "client_id"), List.copyOf(form.asMap().keySet()));
        assertEquals(List.of("clover-mtls"), form.asMap().get("client_id"));
        assertEquals(Optional.of(pem), mtls.clientCertificate());
        assertEquals(Optional.empty(), new ClientSecretBasic("clover", ClientSecret.of(SECRET)).clientCertificate());
    }

    /** Entra ID finds a certificate credential by the thumbprint in the assertion's header, not by a JWKS. */
    @Test
    void privateKeyJwtNamesTheKeysCertificateByItsThumbprints() throws Exception {
        SigningKeys keys = SigningKeys.read(
                List.of(Path.of("src/test/resources/keys/clover-signed-rs256-certificate.pem")),
                Optional.of(SigningKey.Algorithm.PS256),
                "");
        SigningKey key = keys.signing();
        X509Certificate certificate = key.certificate().orElseThrow();
        Form form = new Form();
        new PrivateKeyJwt("clover-signed", keys, AssertionAudience.TOKEN_ENDPOINT, Clock.systemUTC())
                .apply(UPSTREAM, TOKEN_ENDPOINT, new RequestOptions(), form);

        JsonWebSignature assertion =
                verified(form.asMap().get("client_assertion").get(0), key);
        assertEquals("PS256", assertion.getAlgorithmHeaderValue());
        assertEquals(thumbprint("SHA-1", certificate), assertion.getHeader("x5t"));
        assertEquals(thumbprint("SHA-256", certificate), assertion.getHeader("x5t#S256"));
        assertEquals(Set.of("alg", "kid", "typ", "x5t", "x5t#S256"), headerNames(assertion));
    }

    private static Set<String> headerNames(JsonWebSignature assertion) throws Exception {
        return JsonUtil.parseJson(assertion.getHeaders().getFullHeaderAsJsonString())
                .keySet();
    }

    private static String thumbprint(String digest, X509Certificate certificate) throws Exception {
        return Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(MessageDigest.getInstance(digest).digest(certificate.getEncoded()));
    }

    /** The assertion, its signature checked with the key as the broker publishes it. */
    private static JsonWebSignature verified(String compact, SigningKey key) throws Exception {
        JsonWebSignature jws = new JsonWebSignature();
        jws.setCompactSerialization(compact);
        jws.setKey(PublicJsonWebKey.Factory.newPublicJwk(key.publicJwk()).getPublicKey());
        assertTrue(jws.verifySignature(), "signed by the key published at /oauth2/jwks");
        return jws;
    }
}
