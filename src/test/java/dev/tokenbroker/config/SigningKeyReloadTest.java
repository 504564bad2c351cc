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

import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** A key replaced in a client's file signs without a restart, once the upstream's reload interval has passed. */
class SigningKeyReloadTest {

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
            new SigningKeyReload(
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

    private static String rsaPem() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        byte[] der = generator.generateKeyPair().getPrivate().getEncoded();
        return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END PRIVATE KEY-----\n";
    }
}
