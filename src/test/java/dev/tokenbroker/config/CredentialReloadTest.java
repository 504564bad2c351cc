package dev.tokenbroker.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.tokenbroker.support.Await;
import io.vertx.core.Vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A key or secret replaced in a client's file is used without a restart, once the upstream's reload interval passed. */
class CredentialReloadTest {

    @TempDir
    Path dir;

    @Test
    void aKeyReplacedInItsFileIsTakenUp() throws Exception {
        Path file = Files.writeString(dir.resolve("key.pem"), rsaPem());
        Clients clients = new Clients(MappedConfig.of(Map.of(
                "broker.upstream.token-endpoint", "https://login.example/token",
                "broker.upstream.tls-reload-interval", "100ms",
                "broker.clients.signed.client-id", "signed",
                "broker.clients.signed.auth-method", "private_key_jwt",
                "broker.clients.signed.private-keys", file.toString(),
                "broker.clients.signed.redirect-uris", "signed://cb")));
        SigningKeys keys = clients.byClientId("signed").orElseThrow().signingKeys();
        String before = keys.signing().keyId();
        Vertx vertx = Vertx.vertx();
        try {
            new CredentialReload(
                    vertx,
                    clients,
                    MappedConfig.of(Map.of(
                            "broker.upstream.token-endpoint", "https://login.example/token",
                            "broker.upstream.tls-reload-interval", "100ms")));
            Files.writeString(file, rsaPem());
            Await.until(
                    "the new key signs",
                    Duration.ofSeconds(10),
                    () -> !keys.signing().keyId().equals(before));
            assertNotEquals(before, keys.current().get(0).keyId());
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get();
        }
    }

    @Test
    void aSecretReplacedInItsFileIsSentFromTheNextCall() throws Exception {
        Path file = Files.writeString(dir.resolve("secret"), "first-secret\n");
        Map<String, String> properties = Map.of(
                "broker.upstream.token-endpoint", "https://login.example/token",
                "broker.upstream.tls-reload-interval", "100ms",
                "broker.clients.filed.client-id", "filed",
                "broker.clients.filed.client-secret-file", file.toString(),
                "broker.clients.filed.redirect-uris", "filed://cb");
        Clients clients = new Clients(MappedConfig.of(properties));
        ClientSecret secret =
                clients.byClientId("filed").orElseThrow().clientSecret().orElseThrow();
        assertEquals("first-secret", secret.value(), "the line break at the end is dropped");
        Vertx vertx = Vertx.vertx();
        try {
            new CredentialReload(vertx, clients, MappedConfig.of(properties));
            Files.writeString(file, "");
            Files.writeString(file, "second-secret");
            Await.until(
                    "the new secret is used",
                    Duration.ofSeconds(10),
                    () -> secret.value().equals("second-secret"));
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get();
        }
    }

    @Test
    void aSecretFileMustHoldOneSecretAndOnlyThat() throws Exception {
        for (String bad : new String[] {"", "\n", "a".repeat(101), "two\nlines", "tab\there", "\uFEFFbom"}) {
            Path file = Files.writeString(dir.resolve("bad"), bad);
            assertEquals(
                    "must hold a secret of 1 to 100 characters on one line, without a byte order mark (a line break at"
                            + " the end is dropped)",
                    assertThrows(IllegalArgumentException.class, () -> ClientSecret.read(file))
                            .getMessage(),
                    bad);
        }
        Path good = Files.writeString(dir.resolve("good"), "s3cr:t \u00e9\r\n");
        ClientSecret secret = ClientSecret.read(good);
        assertEquals("s3cr:t \u00e9", secret.value());
        assertFalse(secret.reload(), "unchanged");
        Files.writeString(good, "half");
        assertFalse(secret.reload(), "a change read once is not taken up yet");
        assertEquals("s3cr:t \u00e9", secret.value());
        Files.writeString(good, "s3cr:t \u00e9");
        Files.writeString(good, "");
        assertThrows(IllegalArgumentException.class, secret::reload);
        assertEquals("s3cr:t \u00e9", secret.value(), "a refused file leaves the secret in use");
        assertEquals("ClientSecret[file=" + good + "]", secret.toString());

        Map<String, String> both = Map.of(
                "broker.upstream.token-endpoint", "https://login.example/token",
                "broker.clients.filed.client-id", "filed",
                "broker.clients.filed.client-secret", "inline",
                "broker.clients.filed.client-secret-file",
                        Files.writeString(good, "from-file").toString(),
                "broker.clients.filed.redirect-uris", "filed://cb");
        assertEquals(
                "broker.clients.filed.client-secret and client-secret-file: set one of them",
                assertThrows(IllegalArgumentException.class, () -> new Clients(MappedConfig.of(both)))
                        .getMessage());
    }

    private static String rsaPem() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        byte[] der = generator.generateKeyPair().getPrivate().getEncoded();
        return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END PRIVATE KEY-----\n";
    }
}
