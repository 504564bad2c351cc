package dev.tokenbroker.config;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.keys.EllipticCurves;
import org.jose4j.lang.JoseException;

/**
 * A key the broker signs a client's assertions with ({@code private_key_jwt}, RFC 7523 §2.2), and the public half it
 * publishes at {@code /oauth2/jwks}. A class, not a record, so that nothing that serializes accessors or prints
 * components reaches the private key; {@link #toString()} shows only the key id and algorithm.
 */
public final class SigningKey {

    /** Algorithms a client assertion may be signed with. */
    public enum Algorithm {
        RS256,
        PS256,
        ES256
    }

    private static final int MAX_FILE_SIZE = 64 * 1024;
    private static final int MIN_RSA_BITS = 2048;
    /** Beyond this an RSA signature costs tens of milliseconds, on every upstream call. */
    private static final int MAX_RSA_BITS = 4096;

    private static final Pattern PEM =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*)-----END \\1-----");

    private final String keyId;
    private final String algorithm;
    private final PrivateKey privateKey;
    private final Map<String, Object> publicJwk;
    private final Optional<X509Certificate> certificate;

    private SigningKey(
            String keyId,
            String algorithm,
            PrivateKey privateKey,
            Map<String, Object> publicJwk,
            Optional<X509Certificate> certificate) {
        this.keyId = keyId;
        this.algorithm = algorithm;
        this.privateKey = privateKey;
        this.publicJwk = publicJwk;
        this.certificate = certificate;
    }

    /** The JWK's own {@code kid}, else its RFC 7638 SHA-256 thumbprint. */
    public String keyId() {
        return keyId;
    }

    /** The JWS algorithm: {@code RS256}, {@code PS256} or {@code ES256}. */
    public String algorithm() {
        return algorithm;
    }

    public PrivateKey privateKey() {
        return privateKey;
    }

    /** The public key as JWK members, with {@code kid}, {@code alg} and {@code use}: what {@code /oauth2/jwks} shows. */
    public Map<String, Object> publicJwk() {
        return publicJwk;
    }

    /**
     * The key's certificate when the PEM file holds one: assertions then name its thumbprints ({@code x5t},
     * {@code x5t#S256}), as Entra ID identifies a certificate credential.
     */
    public Optional<X509Certificate> certificate() {
        return certificate;
    }

    /** What is wrong with a key file, in words that show no key material. */
    private static final class Unusable extends RuntimeException {
        Unusable(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Reads a PEM file (a PKCS#8 {@code PRIVATE KEY}, with its {@code PUBLIC KEY} or {@code CERTIFICATE} when it is an
     * EC key) or a JWK with its private members.
     *
     * @param wanted the configured algorithm; empty for the key's usual one (RS256 for RSA, ES256 for EC P-256)
     * @throws IllegalArgumentException saying what is wrong with the file, never showing key material
     */
    public static SigningKey read(Path file, Optional<Algorithm> wanted) {
        return read(file, wanted, "");
    }

    /**
     * As {@link #read(Path, Optional)}, or a PKCS#12 key store ({@code .p12}, {@code .pfx}) with one key and its
     * certificate, opened with {@code password}.
     */
    public static SigningKey read(Path file, Optional<Algorithm> wanted, String password) {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            // Read up to the bound, whatever the file system says its size is (a device, a pipe).
            bytes = in.readNBytes(MAX_FILE_SIZE + 1);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot be read (" + e.getClass().getSimpleName() + ")");
        }
        if (bytes.length > MAX_FILE_SIZE) {
            throw new IllegalArgumentException("is larger than " + MAX_FILE_SIZE + " bytes");
        }
        if (bytes.length > 0 && bytes[0] == DER_SEQUENCE) {
            return fromPkcs12(bytes, wanted, password);
        }
        return parse(bytes, wanted);
    }

    /** A PKCS#12 file is DER: it begins with a SEQUENCE, where PEM and JWK text cannot. */
    private static final byte DER_SEQUENCE = 0x30;

    private static SigningKey fromPkcs12(byte[] bytes, Optional<Algorithm> wanted, String password) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(new ByteArrayInputStream(bytes), password.toCharArray());
            List<String> keys = new ArrayList<>();
            for (String alias : Collections.list(store.aliases())) {
                if (store.isKeyEntry(alias)) {
                    keys.add(alias);
                }
            }
            if (keys.size() != 1) {
                throw new Unusable("is a PKCS#12 key store with " + keys.size() + " keys: one key per file");
            }
            Key key = store.getKey(keys.get(0), password.toCharArray());
            if (!(key instanceof PrivateKey privateKey)
                    || !(store.getCertificate(keys.get(0)) instanceof X509Certificate certificate)) {
                throw new Unusable("is a PKCS#12 key store whose key has no X.509 certificate");
            }
            return of(privateKey, certificate.getPublicKey(), Optional.empty(), Optional.of(certificate), wanted);
        } catch (Unusable e) {
            throw new IllegalArgumentException(e.getMessage());
        } catch (IOException e) {
            // Also a wrong password: PKCS#12 cannot tell the two apart.
            throw new IllegalArgumentException(
                    "is no PEM or JWK text, and no PKCS#12 key store that opens with" + " private-keys-password");
        } catch (JoseException | GeneralSecurityException | RuntimeException e) {
            throw new IllegalArgumentException(
                    "holds no usable key (" + e.getClass().getSimpleName() + ")");
        }
    }

    /**
     * As {@link #read}, from a file's bytes already read: for a caller that must use exactly the bytes it checked.
     *
     * @throws IllegalArgumentException saying what is wrong, never showing key material
     */
    public static SigningKey parse(byte[] bytes, Optional<Algorithm> wanted) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        try {
            return text.strip().startsWith("{") ? fromJwk(text, wanted) : fromPem(text, wanted);
        } catch (Unusable e) {
            throw new IllegalArgumentException(e.getMessage());
        } catch (JoseException | GeneralSecurityException | RuntimeException e) {
            // The exception's message may quote the file; only its type is shown.
            throw new IllegalArgumentException(
                    "holds no usable key (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static SigningKey fromJwk(String json, Optional<Algorithm> wanted) throws JoseException {
        JsonWebKey parsed = JsonWebKey.Factory.newJwk(json);
        if (!(parsed instanceof PublicJsonWebKey jwk) || jwk.getPrivateKey() == null) {
            throw new Unusable("is a JWK without a private key (RSA or EC, with its \"d\" member)");
        }
        return of(
                jwk.getPrivateKey(), jwk.getPublicKey(), Optional.ofNullable(jwk.getKeyId()), Optional.empty(), wanted);
    }

    private static SigningKey fromPem(String text, Optional<Algorithm> wanted)
            throws GeneralSecurityException, JoseException {
        PrivateKey privateKey = null;
        PublicKey publicKey = null;
        X509Certificate certificate = null;
        Matcher block = PEM.matcher(text);
        while (block.find()) {
            byte[] der = Base64.getMimeDecoder().decode(block.group(2));
            switch (block.group(1)) {
                case "PRIVATE KEY" -> {
                    if (privateKey != null) {
                        throw new Unusable("holds more than one PRIVATE KEY: one key per file");
                    }
                    privateKey = pkcs8(der);
                }
                case "PUBLIC KEY" -> {
                    if (publicKey != null) {
                        throw new Unusable("holds more than one PUBLIC KEY");
                    }
                    publicKey = keyFactory(der).generatePublic(new X509EncodedKeySpec(der));
                }
                case "CERTIFICATE" -> {
                    // The first is the key's own; a chain's further certificates follow it.
                    if (certificate == null) {
                        certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
                                .generateCertificate(new ByteArrayInputStream(der));
                    }
                }
                case "RSA PRIVATE KEY", "EC PRIVATE KEY" ->
                    throw new Unusable(
                            "holds a " + block.group(1) + ": convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)");
                case "ENCRYPTED PRIVATE KEY" ->
                    throw new Unusable(
                            "holds an encrypted key: the broker reads unencrypted PKCS#8 from a mounted secret");
                default -> {
                    // Other blocks (EC parameters, for one) carry nothing the broker needs.
                }
            }
        }
        if (privateKey == null) {
            throw new Unusable("holds no PEM PRIVATE KEY (PKCS#8) and is no JWK");
        }
        if (certificate != null) {
            if (publicKey != null && !publicKey.equals(certificate.getPublicKey())) {
                throw new Unusable("holds a PUBLIC KEY and a CERTIFICATE of two different keys");
            }
            publicKey = certificate.getPublicKey();
        }
        if (publicKey == null && privateKey instanceof RSAPrivateCrtKey rsa) {
            publicKey = KeyFactory.getInstance("RSA")
                    .generatePublic(new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()));
        }
        if (publicKey == null) {
            throw new Unusable("holds an EC key without its public key: append it"
                    + " (openssl pkey -in key.pem -pubout >> key.pem) or its certificate");
        }
        return of(privateKey, publicKey, Optional.empty(), Optional.ofNullable(certificate), wanted);
    }

    private static PrivateKey pkcs8(byte[] der) throws GeneralSecurityException {
        try {
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException notRsa) {
            return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
        }
    }

    private static KeyFactory keyFactory(byte[] x509) throws GeneralSecurityException {
        try {
            KeyFactory rsa = KeyFactory.getInstance("RSA");
            rsa.generatePublic(new X509EncodedKeySpec(x509));
            return rsa;
        } catch (GeneralSecurityException notRsa) {
            return KeyFactory.getInstance("EC");
        }
    }

    private static SigningKey of(
            PrivateKey privateKey,
            PublicKey publicKey,
            Optional<String> keyId,
            Optional<X509Certificate> certificate,
            Optional<Algorithm> wanted)
            throws JoseException {
        Algorithm algorithm;
        if (privateKey instanceof RSAPrivateKey rsa) {
            int bits = rsa.getModulus().bitLength();
            if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
                throw new Unusable(
                        "holds an RSA key of " + bits + " bits: use " + MIN_RSA_BITS + " to " + MAX_RSA_BITS);
            }
            algorithm = wanted.orElse(Algorithm.RS256);
            if (algorithm == Algorithm.ES256) {
                throw new Unusable("holds an RSA key, which cannot sign ES256");
            }
        } else if (privateKey instanceof ECPrivateKey ec
                && EllipticCurves.P256.getCurve().equals(ec.getParams().getCurve())) {
            algorithm = wanted.orElse(Algorithm.ES256);
            if (algorithm != Algorithm.ES256) {
                throw new Unusable("holds an EC P-256 key, which signs only ES256");
            }
        } else {
            throw new Unusable("holds a key that is neither RSA nor EC P-256");
        }
        PublicJsonWebKey jwk = PublicJsonWebKey.Factory.newPublicJwk(publicKey);
        requireSamePair(privateKey, publicKey, algorithm);
        String kid = keyId.orElse(jwk.calculateBase64urlEncodedThumbprint("SHA-256"));
        jwk.setKeyId(kid);
        jwk.setAlgorithm(algorithm.name());
        jwk.setUse("sig");
        return new SigningKey(
                kid,
                algorithm.name(),
                privateKey,
                Map.copyOf(jwk.toParams(JsonWebKey.OutputControlLevel.PUBLIC_ONLY)),
                certificate);
    }

    /** A public key that does not belong to the private one would publish keys no assertion verifies with. */
    private static void requireSamePair(PrivateKey privateKey, PublicKey publicKey, Algorithm algorithm)
            throws JoseException {
        JsonWebSignature probe = new JsonWebSignature();
        probe.setPayload("probe");
        probe.setAlgorithmHeaderValue(algorithm.name());
        probe.setKey(privateKey);
        String signed = probe.getCompactSerialization();
        JsonWebSignature check = new JsonWebSignature();
        check.setCompactSerialization(signed);
        check.setKey(publicKey);
        if (!check.verifySignature()) {
            throw new Unusable("holds a public key or certificate that does not match its private key");
        }
    }

    @Override
    public String toString() {
        return "SigningKey[kid=" + keyId + ", alg=" + algorithm + "]";
    }
}
