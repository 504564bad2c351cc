package dev.tokenbroker.support;

import java.time.Instant;
import java.util.UUID;

import org.jose4j.jwk.EcJwkGenerator;
import org.jose4j.jwk.EllipticCurveJsonWebKey;
import org.jose4j.jwk.JsonWebKey.OutputControlLevel;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.keys.EllipticCurves;
import org.jose4j.lang.JoseException;

/** A front end's DPoP key (P-256), signing real RFC 9449 proofs with jose4j. */
public final class DpopKey {

    public static final String TOKEN_URL = "http://localhost:8081/oauth2/token";
    public static final String REVOKE_URL = "http://localhost:8081/oauth2/revoke";

    private final EllipticCurveJsonWebKey key;

    private DpopKey(EllipticCurveJsonWebKey key) {
        this.key = key;
    }

    public static DpopKey generate() {
        try {
            return new DpopKey(EcJwkGenerator.generateJwk(EllipticCurves.P256));
        } catch (JoseException e) {
            throw new IllegalStateException(e);
        }
    }

    /** RFC 7638 thumbprint, as the broker stores it. */
    public String thumbprint() {
        return key.calculateBase64urlEncodedThumbprint("SHA-256");
    }

    public String proof(String htm, String htu) {
        return proof(htm, htu, Instant.now());
    }

    public String proof(String htm, String htu, Instant iat) {
        JwtClaims claims = new JwtClaims();
        claims.setJwtId(UUID.randomUUID().toString());
        claims.setStringClaim("htm", htm);
        claims.setStringClaim("htu", htu);
        claims.setClaim("iat", iat.getEpochSecond());
        JsonWebSignature jws = new JsonWebSignature();
        jws.setHeader("typ", "dpop+jwt");
        jws.setAlgorithmHeaderValue(AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256);
        jws.getHeaders().setJwkHeaderValue("jwk", key);
        jws.setPayload(claims.toJson());
        jws.setKey(key.getPrivateKey());
        try {
            return jws.getCompactSerialization();
        } catch (JoseException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A proof that carries the private key in its {@code jwk} header, which the broker must refuse. */
    public String proofLeakingPrivateKey(String htm, String htu) {
        String proof = proof(htm, htu);
        try {
            JsonWebSignature jws = new JsonWebSignature();
            jws.setHeader("typ", "dpop+jwt");
            jws.setAlgorithmHeaderValue(AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256);
            jws.getHeaders().setObjectHeaderValue("jwk", key.toParams(OutputControlLevel.INCLUDE_PRIVATE));
            jws.setPayload(new String(
                    java.util.Base64.getUrlDecoder().decode(proof.split("\\.")[1]),
                    java.nio.charset.StandardCharsets.UTF_8));
            jws.setKey(key.getPrivateKey());
            return jws.getCompactSerialization();
        } catch (JoseException e) {
            throw new IllegalStateException(e);
        }
    }
}
