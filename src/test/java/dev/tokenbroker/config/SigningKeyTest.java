package dev.tokenbroker.config;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.PublicJsonWebKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading private_key_jwt keys: the formats an operator has, and one plain line for each mistake. */
class SigningKeyTest {

    @TempDir
    Path dir;

    private static KeyPair rsa(int bits) throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(bits);
        return generator.generateKeyPair();
    }

    private static KeyPair ec(String curve) throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec(curve));
        return generator.generateKeyPair();
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private Path file(String name, String content) throws Exception {
        return Files.writeString(dir.resolve(name), content);
    }

    private static String problem(Path file, Optional<SigningKey.Algorithm> wanted) {
        return assertThrows(IllegalArgumentException.class, () -> SigningKey.read(file, wanted))
                .getMessage();
    }

    @Test
    void anRsaPemAloneSignsRs256AndIsNamedByItsThumbprint() throws Exception {
        KeyPair pair = rsa(2048);
        SigningKey key = SigningKey.read(
                file(
                        "rsa.pem",
                        "a comment\n" + pem("PRIVATE KEY", pair.getPrivate().getEncoded())),
                Optional.empty());

        assertEquals("RS256", key.algorithm());
        String thumbprint =
                PublicJsonWebKey.Factory.newPublicJwk(pair.getPublic()).calculateBase64urlEncodedThumbprint("SHA-256");
        assertEquals(thumbprint, key.keyId());
        assertEquals(thumbprint, key.publicJwk().get("kid"));
        assertEquals("RS256", key.publicJwk().get("alg"));
        assertEquals("sig", key.publicJwk().get("use"));
        assertFalse(key.publicJwk().containsKey("d"), "the published JWK has no private member");
        assertEquals("SigningKey[kid=" + thumbprint + ", alg=RS256]", key.toString());
    }

    @Test
    void anRsaKeyMaySignPs256() throws Exception {
        Path file = file("rsa.pem", pem("PRIVATE KEY", rsa(3072).getPrivate().getEncoded()));
        assertEquals(
                "PS256",
                SigningKey.read(file, Optional.of(SigningKey.Algorithm.PS256)).algorithm());
    }

    @Test
    void anEcKeyNeedsItsPublicKeyOrCertificateBeside() throws Exception {
        KeyPair pair = ec("secp256r1");
        String privatePem = pem("PRIVATE KEY", pair.getPrivate().getEncoded());

        assertTrue(problem(file("alone.pem", privatePem), Optional.empty())
                .contains("EC key without its public key: append it (openssl pkey -in key.pem -pubout >> key.pem)"));

        SigningKey key = SigningKey.read(
                file("ec.pem", privatePem + pem("PUBLIC KEY", pair.getPublic().getEncoded())), Optional.empty());
        assertEquals("ES256", key.algorithm());
        assertEquals("P-256", key.publicJwk().get("crv"));
        assertFalse(key.publicJwk().containsKey("d"));
    }

    @Test
    void aJwkKeepsItsOwnKeyId() throws Exception {
        PublicJsonWebKey jwk =
                PublicJsonWebKey.Factory.newPublicJwk(ec("secp256r1").getPublic());
        jwk.setPrivateKey(ec("secp256r1").getPrivate());
        KeyPair pair = ec("secp256r1");
        PublicJsonWebKey matching = PublicJsonWebKey.Factory.newPublicJwk(pair.getPublic());
        matching.setPrivateKey(pair.getPrivate());
        matching.setKeyId("broker-2026-12");

        SigningKey key = SigningKey.read(
                file("key.jwk", matching.toJson(JsonWebKey.OutputControlLevel.INCLUDE_PRIVATE)), Optional.empty());
        assertEquals("broker-2026-12", key.keyId());

        // A JWK whose private and public members are of two different keys.
        assertTrue(
                problem(file("mixed.jwk", jwk.toJson(JsonWebKey.OutputControlLevel.INCLUDE_PRIVATE)), Optional.empty())
                        .contains("does not match its private key"));
        assertTrue(
                problem(file("public.jwk", matching.toJson()), Optional.empty()).contains("JWK without a private key"));
    }

    @Test
    void eachMistakeIsOneLineThatShowsNoKeyMaterial() throws Exception {
        KeyPair rsa = rsa(2048);
        String privatePem = pem("PRIVATE KEY", rsa.getPrivate().getEncoded());
        Map<String, String> expected = new HashMap<>();
        expected.put(
                problem(
                        file(
                                "short.pem",
                                pem("PRIVATE KEY", rsa(1024).getPrivate().getEncoded())),
                        Optional.empty()),
                "holds an RSA key of 1024 bits: use 2048 to 4096");
        expected.put(
                problem(file("traditional.pem", pem("RSA PRIVATE KEY", new byte[] {1, 2})), Optional.empty()),
                "holds a RSA PRIVATE KEY: convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)");
        expected.put(
                problem(file("encrypted.pem", pem("ENCRYPTED PRIVATE KEY", new byte[] {1})), Optional.empty()),
                "holds an encrypted key: the broker reads unencrypted PKCS#8 from a mounted secret");
        expected.put(
                problem(
                        file("cert-only.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"),
                        Optional.empty()),
                "holds no usable key (CertificateException)");
        expected.put(
                problem(
                        file(
                                "other.pem",
                                privatePem
                                        + pem(
                                                "PUBLIC KEY",
                                                rsa(2048).getPublic().getEncoded())),
                        Optional.empty()),
                "holds a public key or certificate that does not match its private key");
        expected.put(
                problem(file("rsa.pem", privatePem), Optional.of(SigningKey.Algorithm.ES256)),
                "holds an RSA key, which cannot sign ES256");
        KeyPair p384 = ec("secp384r1");
        expected.put(
                problem(
                        file(
                                "p384.pem",
                                pem("PRIVATE KEY", p384.getPrivate().getEncoded())
                                        + pem("PUBLIC KEY", p384.getPublic().getEncoded())),
                        Optional.empty()),
                "holds a key that is neither RSA nor EC P-256");
        expected.put(
                problem(file("empty.pem", ""), Optional.empty()), "holds no PEM PRIVATE KEY (PKCS#8) and is no JWK");
        expected.put(problem(dir.resolve("missing.pem"), Optional.empty()), "cannot be read (NoSuchFileException)");
        expected.put(
                problem(file("two.pem", privatePem + privatePem), Optional.empty()),
                "holds more than one PRIVATE KEY: one key per file");
        expected.put(
                problem(
                        file("not-base64.pem", pem("PRIVATE KEY", new byte[0]).replace("\n\n", "\nA\n")),
                        Optional.empty()),
                "holds no usable key (IllegalArgumentException)");
        expected.put(
                problem(file("garbage.pem", pem("PRIVATE KEY", new byte[] {48, 3, 2, 1, 0})), Optional.empty()),
                "holds no usable key (InvalidKeySpecException)");
        String certificatePem =
                Files.readString(Path.of("src/test/resources/keys/clover-signed-rs256-certificate.pem"));
        String certificate = certificatePem.substring(certificatePem.indexOf("-----BEGIN CERTIFICATE-----"));
        expected.put(
                problem(file("other-certificate.pem", privatePem + certificate), Optional.empty()),
                "holds a public key or certificate that does not match its private key");
        expected.put(
                problem(
                        file(
                                "certificate-and-other-public.pem",
                                certificatePem
                                        + pem("PUBLIC KEY", rsa.getPublic().getEncoded())),
                        Optional.empty()),
                "holds a PUBLIC KEY and a CERTIFICATE of two different keys");
        expected.forEach((actual, wanted) -> assertEquals(wanted, actual));

        KeyPair ec = ec("secp256r1");
        Path ecFile = file(
                "ec.pem",
                pem("PRIVATE KEY", ec.getPrivate().getEncoded())
                        + pem("PUBLIC KEY", ec.getPublic().getEncoded()));
        assertEquals(
                "holds an EC P-256 key, which signs only ES256",
                problem(ecFile, Optional.of(SigningKey.Algorithm.RS256)));
    }

    /**
     * A rotation in a mounted Secret without a restart: the next key is published from the second file, then moved to
     * the first, where it signs. Files that do not check out are refused and the keys in use stay.
     */
    @Test
    void keysAreReadAgainAndOnlyFilesThatCheckOutReplaceThem() throws Exception {
        KeyPair old = rsa(2048);
        KeyPair next = rsa(2048);
        Path firstFile = file("first.pem", pem("PRIVATE KEY", old.getPrivate().getEncoded()));
        Path secondFile = file("second.pem", pem("PRIVATE KEY", old.getPrivate().getEncoded()));
        assertThrows(
                IllegalArgumentException.class,
                () -> SigningKeys.read(List.of(firstFile, secondFile), Optional.empty(), ""),
                "one key twice");
        file("second.pem", pem("PRIVATE KEY", next.getPrivate().getEncoded()));
        SigningKeys keys = SigningKeys.read(List.of(firstFile, secondFile), Optional.empty(), "");
        String oldKid = keys.signing().keyId();
        String nextKid = keys.current().get(1).keyId();

        assertFalse(keys.reload(), "nothing changed");
        file("first.pem", pem("PRIVATE KEY", next.getPrivate().getEncoded()));
        String refused =
                assertThrows(IllegalArgumentException.class, keys::reload).getMessage();
        assertEquals(secondFile + " has the kid '" + nextKid + "' of a key listed before it", refused);
        assertEquals(List.of(oldKid, nextKid), kids(keys), "a refused reload changes nothing");

        file("second.pem", pem("PRIVATE KEY", old.getPrivate().getEncoded()));
        assertFalse(keys.reload(), "read once: a file written in place may have been read half done");
        assertEquals(List.of(oldKid, nextKid), kids(keys));
        assertTrue(keys.reload(), "read the same twice");
        assertEquals(List.of(nextKid, oldKid), kids(keys), "the next key signs, the old one is still published");

        file("first.pem", "not a key");
        assertThrows(IllegalArgumentException.class, keys::reload);
        assertEquals(nextKid, keys.signing().keyId());
    }

    /** A PKCS#12 key store (.p12, .pfx), as Entra ID and key vaults export a certificate credential. */
    @Test
    void aPkcs12KeyStoreWithOneKeyAndItsCertificateIsRead() throws Exception {
        SigningKey pem = SigningKey.read(
                Path.of("src/test/resources/keys/clover-signed-rs256-certificate.pem"), Optional.empty());
        X509Certificate certificate = pem.certificate().orElseThrow();
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("clover", pem.privateKey(), "pfx-pass".toCharArray(), new Certificate[] {certificate});
        Path p12 = dir.resolve("clover.p12");
        try (OutputStream out = Files.newOutputStream(p12)) {
            store.store(out, "pfx-pass".toCharArray());
        }

        SigningKey read = SigningKey.read(p12, Optional.empty(), "pfx-pass");
        assertEquals(pem.keyId(), read.keyId());
        assertEquals(pem.publicJwk(), read.publicJwk());
        assertEquals(Optional.of(certificate), read.certificate(), "x5t and x5t#S256 come from it");

        assertEquals(
                "is no PEM or JWK text, and no PKCS#12 key store that opens with private-keys-password",
                assertThrows(IllegalArgumentException.class, () -> SigningKey.read(p12, Optional.empty(), "wrong"))
                        .getMessage());
        store.setKeyEntry("other", rsa(2048).getPrivate(), "pfx-pass".toCharArray(), new Certificate[] {certificate});
        try (OutputStream out = Files.newOutputStream(p12)) {
            store.store(out, "pfx-pass".toCharArray());
        }
        assertEquals(
                "is a PKCS#12 key store with 2 keys: one key per file",
                assertThrows(IllegalArgumentException.class, () -> SigningKey.read(p12, Optional.empty(), "pfx-pass"))
                        .getMessage());
    }

    private static List<String> kids(SigningKeys keys) {
        return keys.current().stream().map(SigningKey::keyId).toList();
    }

    @Test
    void theBrokerStopsOnABadKeyAndKeepsEachClientsKeysInOrder() throws Exception {
        KeyPair first = rsa(2048);
        KeyPair second = ec("secp256r1");
        Path firstFile = file("first.pem", pem("PRIVATE KEY", first.getPrivate().getEncoded()));
        Path secondFile = file(
                "second.pem",
                pem("PRIVATE KEY", second.getPrivate().getEncoded())
                        + pem("PUBLIC KEY", second.getPublic().getEncoded()));
        Map<String, String> properties = new HashMap<>();
        properties.put("broker.clients.signed.client-id", "signed");
        properties.put("broker.clients.signed.auth-method", "private_key_jwt");
        properties.put("broker.clients.signed.private-keys", firstFile + "," + secondFile);
        properties.put("broker.clients.signed.redirect-uris", "signed://cb");
        properties.put("broker.clients.also.client-id", "also");
        properties.put("broker.clients.also.auth-method", "private_key_jwt");
        properties.put("broker.clients.also.private-keys", firstFile.toString());
        properties.put("broker.clients.also.redirect-uris", "also://cb");
        properties.put("broker.upstream.token-endpoint", "https://login.example/token");

        Clients clients = new Clients(MappedConfig.of(properties));
        RegisteredClient signed = clients.byClientId("signed").orElseThrow();
        assertEquals(
                List.of("RS256", "ES256"),
                signed.signingKeys().current().stream()
                        .map(SigningKey::algorithm)
                        .toList());
        assertEquals("RegisteredClient[name=signed, clientId=signed, authMethod=private_key_jwt]", signed.toString());
        assertEquals(
                List.of(first.getPublic(), second.getPublic()),
                signed.signingKeys().current().stream()
                        .map(k -> {
                            try {
                                return PublicJsonWebKey.Factory.newPublicJwk(k.publicJwk())
                                        .getPublicKey();
                            } catch (Exception e) {
                                throw new AssertionError(e);
                            }
                        })
                        .toList(),
                "published in the order listed");

        properties.put("broker.clients.signed.client-secret", "s");
        properties.put("broker.clients.signed.assertion-audience", "issuer");
        properties.put(
                "broker.clients.also.private-keys", dir.resolve("missing.pem").toString());
        properties.put("broker.clients.signed.private-keys", firstFile + "," + secondFile + "," + firstFile);
        properties.put("broker.clients.clover.signing-algorithm", "ES256");
        String problems = assertThrows(IllegalArgumentException.class, () -> new Clients(MappedConfig.of(properties)))
                .getMessage();
        assertEquals(
                List.of(
                        "broker.clients.also.private-keys: " + dir.resolve("missing.pem")
                                + " cannot be read (NoSuchFileException)",
                        "broker.clients.clover.private-keys and signing-algorithm are used only with"
                                + " auth-method=private_key_jwt",
                        "broker.clients.signed.assertion-audience=issuer needs broker.upstream.issuer",
                        "broker.clients.signed.client-secret is not sent with auth-method=private_key_jwt: remove it",
                        "broker.clients.signed.private-keys: " + firstFile + " has the kid '"
                                + signed.signingKeys().signing().keyId() + "' of a key listed before it"),
                problems.lines().sorted().toList());
    }

    @Test
    void tlsClientAuthNeedsAFileWithTheKeyAndItsCertificate() throws Exception {
        Path withCertificate = Path.of("src/test/resources/keys/clover-signed-rs256-certificate.pem");
        Path keyOnly = Path.of("src/test/resources/keys/clover-signed-next-rs256.pem");
        Map<String, String> properties = new HashMap<>();
        properties.put("broker.clients.mtls.client-id", "mtls");
        properties.put("broker.clients.mtls.auth-method", "tls_client_auth");
        properties.put("broker.clients.mtls.tls-client-certificate", withCertificate.toString());
        properties.put("broker.clients.mtls.redirect-uris", "mtls://cb");

        RegisteredClient mtls =
                new Clients(MappedConfig.of(properties)).byClientId("mtls").orElseThrow();
        assertEquals(Optional.of(withCertificate), mtls.tlsClientCertificate());

        properties.put("broker.clients.mtls.tls-client-certificate", keyOnly.toString());
        properties.put("broker.clients.clover.tls-client-certificate", withCertificate.toString());
        assertEquals(
                List.of(
                        "broker.clients.clover.tls-client-certificate is used only with auth-method=tls_client_auth",
                        "broker.clients.mtls.tls-client-certificate: " + keyOnly + " holds no CERTIFICATE"),
                assertThrows(IllegalArgumentException.class, () -> new Clients(MappedConfig.of(properties)))
                        .getMessage()
                        .lines()
                        .sorted()
                        .toList());

        properties.remove("broker.clients.clover.tls-client-certificate");
        properties.remove("broker.clients.mtls.tls-client-certificate");
        properties.put("broker.clients.mtls.client-secret", "s");
        assertEquals(
                List.of(
                        "broker.clients.mtls.client-secret is not sent with auth-method=tls_client_auth: remove it",
                        "broker.clients.mtls.tls-client-certificate must name the PEM file of the client's key and"
                                + " certificate for tls_client_auth"),
                assertThrows(IllegalArgumentException.class, () -> new Clients(MappedConfig.of(properties)))
                        .getMessage()
                        .lines()
                        .sorted()
                        .toList());
    }
}
