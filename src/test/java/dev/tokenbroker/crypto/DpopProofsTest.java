package dev.tokenbroker.crypto;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

import org.jose4j.base64url.Base64Url;
import org.jose4j.json.JsonUtil;
import org.jose4j.jwa.AlgorithmConstraints;
import org.jose4j.jwk.EcJwkGenerator;
import org.jose4j.jwk.EllipticCurveJsonWebKey;
import org.jose4j.jwk.JsonWebKey.OutputControlLevel;
import org.jose4j.jwk.OctJwkGenerator;
import org.jose4j.jwk.OctetKeyPairJsonWebKey;
import org.jose4j.jwk.OctetSequenceJsonWebKey;
import org.jose4j.jwk.OkpJwkGenerator;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.jwk.RsaJsonWebKey;
import org.jose4j.jwk.RsaJwkGenerator;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.keys.EllipticCurves;
import org.jose4j.keys.HmacKey;
import org.jose4j.lang.JoseException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every rejection test builds a proof that is valid except for the one rule under test and asserts that rule's
 * exact reason, so removing or weakening the rule makes its test fail rather than some other check catch it.
 */
class DpopProofsTest {

    static final URI TOKEN = URI.create("https://broker.example.com/oauth/token");
    static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    static final Duration MAX_AGE = Duration.ofMinutes(5);
    static final Duration SKEW = Duration.ofSeconds(30);
    static final DpopProofs VERIFIER = new DpopProofs(Set.of("ES256", "RS256", "PS256", "EdDSA"), MAX_AGE, SKEW);

    static final EllipticCurveJsonWebKey EC = ecKey(EllipticCurves.P256);
    static final EllipticCurveJsonWebKey OTHER_EC = ecKey(EllipticCurves.P256);
    static final RsaJsonWebKey RSA = rsaKey(2048);

    // ---- happy paths and the thumbprint ----

    @Test
    void acceptsEs256ProofAndReturnsThumbprintJtiAndIat() throws JoseException {
        DpopProofs.Proof proof =
                verify(new ProofBuilder(EC, "ES256").claim("jti", "jti-1").build());
        assertEquals(EC.calculateBase64urlEncodedThumbprint("SHA-256"), proof.jkt());
        assertEquals("jti-1", proof.jti());
        assertEquals(Instant.ofEpochSecond(NOW.getEpochSecond()), proof.iat());
    }

    @Test
    void acceptsRs256Proof() throws JoseException {
        DpopProofs.Proof proof = verify(new ProofBuilder(RSA, "RS256").build());
        assertEquals(RSA.calculateBase64urlEncodedThumbprint("SHA-256"), proof.jkt());
    }

    @Test
    void acceptsPs256AndEdDsaProofs() throws JoseException {
        assertEquals(
                RSA.calculateBase64urlEncodedThumbprint("SHA-256"),
                verify(new ProofBuilder(RSA, "PS256").build()).jkt());
        PublicJsonWebKey ed = OkpJwkGenerator.generateJwk(OctetKeyPairJsonWebKey.SUBTYPE_ED25519);
        assertEquals(
                ed.calculateBase64urlEncodedThumbprint("SHA-256"),
                verify(new ProofBuilder(ed, "EdDSA").build()).jkt());
    }

    @Test
    void thumbprintIsStablePerKeyAndDiffersBetweenKeys() {
        String first = verify(new ProofBuilder(EC, "ES256").build()).jkt();
        String second = verify(new ProofBuilder(EC, "ES256").build()).jkt();
        String other = verify(new ProofBuilder(OTHER_EC, "ES256").build()).jkt();
        assertEquals(first, second);
        assertNotEquals(first, other);
        assertTrue(first.matches("[A-Za-z0-9_-]{43}"), "base64url SHA-256, no padding");
    }

    @Test
    void ignoresAthAndUnknownClaims() {
        verify(new ProofBuilder(EC, "ES256")
                .claim("ath", "not-checked")
                .claim("extra", 42)
                .build());
    }

    @Test
    void typComparesCaseInsensitivelyAndMayCarryTheApplicationPrefix() {
        verify(new ProofBuilder(EC, "ES256").header("typ", "DPoP+JWT").build());
        verify(new ProofBuilder(EC, "ES256")
                .header("typ", "application/dpop+jwt")
                .build());
    }

    // ---- header: typ, alg ----

    @Test
    void rejectsWrongTyp() {
        assertRejected(
                "typ must be dpop+jwt",
                new ProofBuilder(EC, "ES256").header("typ", "JWT").build());
        assertRejected(
                "typ must be dpop+jwt",
                new ProofBuilder(EC, "ES256").header("typ", "at+jwt").build());
        assertRejected(
                "typ must be dpop+jwt",
                new ProofBuilder(EC, "ES256").header("typ", 1).build());
    }

    @Test
    void rejectsMissingTyp() {
        assertRejected(
                "typ must be dpop+jwt",
                new ProofBuilder(EC, "ES256").header("typ", null).build());
    }

    @Test
    void rejectsAlgNoneEvenWhenConfigured() {
        DpopProofs lax = new DpopProofs(Set.of("none", "ES256"), MAX_AGE, SKEW);
        String unsigned = new ProofBuilder(EC, "none").buildUnsigned();
        assertTrue(unsigned.endsWith("."), "an unsecured JWS has an empty signature part");
        assertRejected("alg not allowed", () -> lax.verify(unsigned, "POST", TOKEN, NOW, Optional.empty()));
        assertRejected("alg not allowed", unsigned);
    }

    @Test
    void rejectsHs256WithOctKeyEvenWhenConfigured() {
        DpopProofs lax = new DpopProofs(Set.of("HS256", "ES256"), MAX_AGE, SKEW);
        OctetSequenceJsonWebKey oct = OctJwkGenerator.generateJwk(256);
        String proof = new ProofBuilder(EC, "HS256")
                .header("jwk", oct.toParams(OutputControlLevel.INCLUDE_SYMMETRIC))
                .signWith(new HmacKey(oct.getOctetSequence()))
                .build();
        assertRejected("alg not allowed", () -> lax.verify(proof, "POST", TOKEN, NOW, Optional.empty()));
    }

    @Test
    void rejectsAlgNotInAllowlist() {
        EllipticCurveJsonWebKey p384 = ecKey(EllipticCurves.P384);
        String es384 = new ProofBuilder(p384, "ES384").build();
        assertRejected("alg not allowed", es384);
        // The same proof is fine once ES384 is allowed: only the allowlist rejected it.
        new DpopProofs(Set.of("ES384"), MAX_AGE, SKEW).verify(es384, "POST", TOKEN, NOW, Optional.empty());
        // jose4j cannot sign without alg: swap a header without it into a signed proof.
        ProofBuilder noAlg = new ProofBuilder(EC, "ES256");
        String signed = noAlg.build();
        noAlg.header("alg", null);
        String unlabelled = Base64Url.encodeUtf8ByteRepresentation(JsonUtil.toJson(noAlg.header))
                + signed.substring(signed.indexOf('.'));
        assertRejected("alg not allowed", unlabelled);
    }

    @Test
    void constructorRefusesAnAllowlistWithoutAsymmetricAlgorithms() {
        assertThrows(
                IllegalArgumentException.class, () -> new DpopProofs(Set.of("none", "HS256", "HS512"), MAX_AGE, SKEW));
        assertThrows(IllegalArgumentException.class, () -> new DpopProofs(Set.of("ES256"), MAX_AGE.negated(), SKEW));
    }

    // ---- header: jwk ----

    @Test
    void rejectsMissingOrNonObjectJwk() {
        assertRejected(
                "jwk header missing",
                new ProofBuilder(EC, "ES256").header("jwk", null).build());
        assertRejected(
                "jwk header missing",
                new ProofBuilder(EC, "ES256").header("jwk", "a key").build());
    }

    @Test
    void rejectsJwkWithPrivateParts() {
        assertRejected(
                "jwk must be a public key only",
                new ProofBuilder(EC, "ES256")
                        .header("jwk", EC.toParams(OutputControlLevel.INCLUDE_PRIVATE))
                        .build());
        assertRejected(
                "jwk must be a public key only",
                new ProofBuilder(RSA, "RS256")
                        .header("jwk", RSA.toParams(OutputControlLevel.INCLUDE_PRIVATE))
                        .build());
    }

    /** Each private member on its own, even where jose4j alone would not build a private key from it. */
    @ParameterizedTest
    @ValueSource(strings = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
    void rejectsJwkWithAnyPrivateMember(String member) {
        Map<String, Object> jwk = RSA.toParams(OutputControlLevel.PUBLIC_ONLY);
        jwk.put(member, "AQAB");
        assertRejected(
                "jwk must be a public key only",
                new ProofBuilder(RSA, "RS256").header("jwk", jwk).build());
    }

    @Test
    void rejectsSymmetricJwk() {
        Map<String, Object> oct = new LinkedHashMap<>(Map.of("kty", "oct"));
        assertRejected(
                "jwk must be a public key only",
                new ProofBuilder(EC, "ES256").header("jwk", oct).build());
    }

    @Test
    void rejectsUnparseableJwk() {
        Map<String, Object> broken = EC.toParams(OutputControlLevel.PUBLIC_ONLY);
        broken.remove("y");
        assertRejected(
                "jwk is not a usable public key",
                new ProofBuilder(EC, "ES256").header("jwk", broken).build());
    }

    // ---- signature ----

    @Test
    void rejectsSignatureByAnotherKeyThanTheEmbeddedOne() {
        String proof =
                new ProofBuilder(EC, "ES256").signWith(OTHER_EC.getPrivateKey()).build();
        assertRejected("signature does not verify with the embedded jwk", proof);
    }

    @Test
    void rejectsTamperedPayload() {
        String[] parts = new ProofBuilder(EC, "ES256").build().split("\\.");
        ProofBuilder forged = new ProofBuilder(EC, "ES256").claim("htm", "DELETE");
        String tampered = parts[0] + "." + Base64Url.encodeUtf8ByteRepresentation(JsonUtil.toJson(forged.claims)) + "."
                + parts[2];
        assertRejected(
                "signature does not verify with the embedded jwk",
                () -> VERIFIER.verify(tampered, "DELETE", TOKEN, NOW, Optional.empty()));
    }

    @Test
    void rejectsKeyThatDoesNotFitTheAlgorithm() {
        // An RSA key under an ECDSA alg, and an RSA key below jose4j's 2048-bit minimum.
        String mismatch = new ProofBuilder(RSA, "RS256")
                .header("alg", "ES256")
                .signWith(EC.getPrivateKey())
                .build();
        assertRejected("jwk or header not usable with alg", mismatch);
        assertRejected("jwk or header not usable with alg", new ProofBuilder(rsaKey(1024), "RS256").build());
    }

    // ---- claims: jti, htm ----

    @Test
    void rejectsMissingJti() {
        assertRejected(
                "jti missing or not a string",
                new ProofBuilder(EC, "ES256").claim("jti", null).build());
        assertRejected(
                "jti missing or not a string",
                new ProofBuilder(EC, "ES256").claim("jti", 7).build());
    }

    @Test
    void rejectsEmptyOrOverlongJti() {
        assertRejected(
                "jti empty or too long",
                new ProofBuilder(EC, "ES256").claim("jti", "").build());
        assertRejected(
                "jti empty or too long",
                new ProofBuilder(EC, "ES256")
                        .claim("jti", "j".repeat(DpopProofs.MAX_JTI_LENGTH + 1))
                        .build());
        verify(new ProofBuilder(EC, "ES256")
                .claim("jti", "j".repeat(DpopProofs.MAX_JTI_LENGTH))
                .build());
    }

    @Test
    void rejectsWrongHtm() {
        assertRejected(
                "htm does not match the request method",
                new ProofBuilder(EC, "ES256").claim("htm", "GET").build());
        // Methods are case-sensitive (RFC 9110 §9.1).
        assertRejected(
                "htm does not match the request method",
                new ProofBuilder(EC, "ES256").claim("htm", "post").build());
        assertRejected(
                "htm missing or not a string",
                new ProofBuilder(EC, "ES256").claim("htm", null).build());
    }

    // ---- claims: htu ----

    @ParameterizedTest
    @ValueSource(
            strings = {
                "https://broker.example.com/oauth/other",
                "https://evil.example.com/oauth/token",
                "http://broker.example.com/oauth/token",
                "https://broker.example.com:8443/oauth/token",
                "https://broker.example.com/oauth/token/",
                "https://broker.example.com/OAUTH/token",
            })
    void rejectsWrongHtu(String htu) {
        assertRejected(
                "htu does not match the request URI",
                new ProofBuilder(EC, "ES256").claim("htu", htu).build());
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "/oauth/token",
                "broker.example.com/oauth/token",
                "mailto:a@example.com",
                "ftp://broker.example.com/oauth/token",
                "https://user@broker.example.com/oauth/token",
                "https://[bad/"
            })
    void rejectsHtuThatIsNotAnAbsoluteHttpUri(String htu) {
        assertRejected(
                "htu is not an absolute http(s) URI",
                new ProofBuilder(EC, "ES256").claim("htu", htu).build());
    }

    @Test
    void rejectsMissingHtu() {
        assertRejected(
                "htu missing or not a string",
                new ProofBuilder(EC, "ES256").claim("htu", null).build());
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "https://BROKER.Example.COM/oauth/token",
                "HTTPS://broker.example.com/oauth/token",
                "https://broker.example.com:443/oauth/token",
                "https://broker.example.com/oauth/token?client_id=web",
                "https://broker.example.com/oauth/token#fragment",
                "https://broker.example.com/oauth/./x/../token",
                "https://broker.example.com/oauth/%74%6Fken",
            })
    void acceptsHtuEqualAfterNormalization(String htu) {
        verify(new ProofBuilder(EC, "ES256").claim("htu", htu).build());
    }

    @Test
    void normalizesTheRequestUriToo() {
        String proof = new ProofBuilder(EC, "ES256")
                .claim("htu", "http://broker.example.com/a%2fb")
                .build();
        VERIFIER.verify(proof, "POST", URI.create("HTTP://Broker.Example.com:80/a%2Fb?x=1"), NOW, Optional.empty());
        String root = new ProofBuilder(EC, "ES256")
                .claim("htu", "https://broker.example.com")
                .build();
        VERIFIER.verify(root, "POST", URI.create("https://broker.example.com/"), NOW, Optional.empty());
        // An encoded slash is not a path separator.
        assertRejected(
                "htu does not match the request URI",
                () -> VERIFIER.verify(
                        proof, "POST", URI.create("http://broker.example.com/a/b"), NOW, Optional.empty()));
    }

    @Test
    void refusesARequestUriThatCannotBeCompared() {
        String proof = new ProofBuilder(EC, "ES256").build();
        assertThrows(
                IllegalArgumentException.class,
                () -> VERIFIER.verify(proof, "POST", URI.create("/oauth/token"), NOW, Optional.empty()));
    }

    // ---- claims: iat ----

    @Test
    void rejectsStaleIat() {
        Instant oldest = NOW.minus(MAX_AGE).minus(SKEW);
        verify(new ProofBuilder(EC, "ES256")
                .claim("iat", oldest.getEpochSecond())
                .build());
        assertRejected(
                "iat too old",
                new ProofBuilder(EC, "ES256")
                        .claim("iat", oldest.getEpochSecond() - 1)
                        .build());
    }

    @Test
    void rejectsIatInTheFutureBeyondSkew() {
        Instant latest = NOW.plus(SKEW);
        verify(new ProofBuilder(EC, "ES256")
                .claim("iat", latest.getEpochSecond())
                .build());
        assertRejected(
                "iat in the future",
                new ProofBuilder(EC, "ES256")
                        .claim("iat", latest.getEpochSecond() + 1)
                        .build());
    }

    @Test
    void rejectsMissingOrMalformedIat() {
        assertRejected(
                "iat missing", new ProofBuilder(EC, "ES256").claim("iat", null).build());
        assertRejected(
                "iat is not a valid time",
                new ProofBuilder(EC, "ES256")
                        .claim("iat", String.valueOf(NOW.getEpochSecond()))
                        .build());
        assertRejected(
                "iat is not a valid time",
                new ProofBuilder(EC, "ES256").claim("iat", Long.MAX_VALUE).build());
    }

    // ---- claims: nonce ----

    @Test
    void requiredNonceMissingIsANonceError() {
        DpopProofs.Rejected rejected = assertRejected(
                "nonce missing", () -> verify(new ProofBuilder(EC, "ES256").build(), Optional.of("n-1")));
        assertTrue(rejected.isNonceError());
    }

    @Test
    void requiredNonceWrongIsANonceError() {
        DpopProofs.Rejected rejected = assertRejected(
                "nonce wrong or expired",
                () -> verify(new ProofBuilder(EC, "ES256").claim("nonce", "n-0").build(), Optional.of("n-1")));
        assertTrue(rejected.isNonceError());
    }

    @Test
    void requiredNonceCorrectIsAccepted() {
        verify(new ProofBuilder(EC, "ES256").claim("nonce", "n-1").build(), Optional.of("n-1"));
        // A nonce nobody asked for does no harm.
        verify(new ProofBuilder(EC, "ES256").claim("nonce", "n-1").build(), Optional.empty());
    }

    @Test
    void otherRejectionsAreNotNonceErrors() {
        DpopProofs.Rejected rejected = assertRejected(
                "htm does not match the request method",
                new ProofBuilder(EC, "ES256").claim("htm", "GET").build());
        assertFalse(rejected.isNonceError());
    }

    // ---- size and shape ----

    @Test
    void rejectsTooLargeProofBeforeParsing() {
        String padding = "x".repeat(DpopProofs.MAX_PROOF_LENGTH);
        String large = new ProofBuilder(EC, "ES256").claim("padding", padding).build();
        assertTrue(large.length() > DpopProofs.MAX_PROOF_LENGTH);
        assertRejected("DPoP proof too large", large);
        String fits =
                new ProofBuilder(EC, "ES256").claim("padding", "x".repeat(5000)).build();
        assertTrue(fits.length() > 6 * 1024 && fits.length() <= DpopProofs.MAX_PROOF_LENGTH);
        verify(fits);
    }

    @Test
    void rejectsInputThatIsNotOneCompactJws() {
        String valid = new ProofBuilder(EC, "ES256").build();
        String[] parts = valid.split("\\.");
        for (String garbage : new String[] {
            "not a jwt",
            parts[0] + "." + parts[1],
            valid + "." + parts[2],
            valid + ", " + valid,
            " " + valid,
            "!!!.###.$$$",
            parts[0] + "=." + parts[1] + "." + parts[2],
        }) {
            assertRejected("DPoP proof is not a single compact JWS", garbage);
        }
        assertRejected("DPoP proof missing", "");
        assertRejected("DPoP proof missing", (String) null);
    }

    @Test
    void rejectsCompactJwsWhosePartsDoNotDecode() {
        String valid = new ProofBuilder(EC, "ES256").build();
        String[] parts = valid.split("\\.");
        String notJsonHeader = Base64Url.encodeUtf8ByteRepresentation("hello");
        assertRejected("DPoP proof is not a well-formed JWS", notJsonHeader + "." + parts[1] + "." + parts[2]);
        assertRejected("DPoP proof is not a well-formed JWS", "A." + parts[1] + "." + parts[2]);
    }

    @Test
    void rejectsClaimsThatAreNotAJsonObject() {
        String proof =
                new ProofBuilder(EC, "ES256").payload("[\"not\", \"claims\"]").build();
        assertRejected("DPoP proof claims are not a JSON object", proof);
    }

    @Test
    void rejectionCarriesNoStackTraceAndNoProofMaterial() {
        String proof = new ProofBuilder(EC, "ES256").claim("htm", "GET").build();
        DpopProofs.Rejected rejected = assertRejected("htm does not match the request method", proof);
        assertEquals(0, rejected.getStackTrace().length);
        for (String part : proof.split("\\.")) {
            assertFalse(rejected.getMessage().contains(part));
        }
    }

    // ---- helpers ----

    private static DpopProofs.Proof verify(String proof) {
        return verify(proof, Optional.empty());
    }

    private static DpopProofs.Proof verify(String proof, Optional<String> nonce) {
        return VERIFIER.verify(proof, "POST", TOKEN, NOW, nonce);
    }

    private static DpopProofs.Rejected assertRejected(String reason, String proof) {
        return assertRejected(reason, () -> verify(proof));
    }

    private static DpopProofs.Rejected assertRejected(String reason, Runnable verification) {
        DpopProofs.Rejected rejected = assertThrows(DpopProofs.Rejected.class, verification::run);
        assertEquals(reason, rejected.getMessage());
        return rejected;
    }

    private static EllipticCurveJsonWebKey ecKey(java.security.spec.ECParameterSpec curve) {
        try {
            return EcJwkGenerator.generateJwk(curve);
        } catch (JoseException e) {
            throw new IllegalStateException(e);
        }
    }

    private static RsaJsonWebKey rsaKey(int bits) {
        try {
            return RsaJwkGenerator.generateJwk(bits);
        } catch (JoseException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A real, jose4j-signed proof for {@code POST TOKEN} at {@code NOW}: valid unless a test changes one thing.
     * Setting a header or claim to null removes it.
     */
    private static final class ProofBuilder {

        final Map<String, Object> header = new LinkedHashMap<>();
        final Map<String, Object> claims = new LinkedHashMap<>();
        private String payload;
        private Key signingKey;

        ProofBuilder(PublicJsonWebKey key, String alg) {
            header.put("typ", "dpop+jwt");
            header.put("alg", alg);
            header.put("jwk", key.toParams(OutputControlLevel.PUBLIC_ONLY));
            claims.put("jti", UUID.randomUUID().toString());
            claims.put("htm", "POST");
            claims.put("htu", TOKEN.toString());
            claims.put("iat", NOW.getEpochSecond());
            signingKey = key.getPrivateKey();
        }

        ProofBuilder header(String name, Object value) {
            put(header, name, value);
            return this;
        }

        ProofBuilder claim(String name, Object value) {
            put(claims, name, value);
            return this;
        }

        /** Replaces the claims with arbitrary payload text. */
        ProofBuilder payload(String text) {
            payload = text;
            return this;
        }

        ProofBuilder signWith(Key key) {
            signingKey = key;
            return this;
        }

        String build() {
            try {
                JsonWebSignature jws = new JsonWebSignature();
                jws.getHeaders().setFullHeaderAsJsonString(JsonUtil.toJson(header));
                jws.setPayload(payload != null ? payload : JsonUtil.toJson(claims));
                jws.setKey(signingKey);
                // The tests sign what the verifier must refuse, so jose4j's own signing-side guards are off.
                jws.setAlgorithmConstraints(AlgorithmConstraints.NO_CONSTRAINTS);
                jws.setDoKeyValidation(false);
                return jws.getCompactSerialization();
            } catch (JoseException e) {
                throw new IllegalStateException(e);
            }
        }

        /** An unsecured JWS (RFC 7515 Appendix A.5): header and payload, empty signature. */
        String buildUnsigned() {
            return Base64Url.encodeUtf8ByteRepresentation(JsonUtil.toJson(header)) + "."
                    + Base64Url.encode(JsonUtil.toJson(claims).getBytes(StandardCharsets.UTF_8)) + ".";
        }

        private static void put(Map<String, Object> map, String name, Object value) {
            if (value == null) {
                map.remove(name);
            } else {
                map.put(name, value);
            }
        }
    }
}
