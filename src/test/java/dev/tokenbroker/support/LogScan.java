package dev.tokenbroker.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Looks for token material in what the test applications logged ({@code target/broker-test.log*}). */
public final class LogScan {

    private static final Pattern JWT = Pattern.compile("eyJ[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]*");

    /** Values every test seeds: stubbed upstream tokens, the verifier, the client secrets. */
    public static final List<String> SEEDED = List.of(
            Broker.VERIFIER,
            "s:e+c%r et \u00e9",
            "s%3Ae%2Bc%25r",
            "web-secret-4711",
            DuendeStubs.ACCESS_TOKEN,
            DuendeStubs.REFRESHED_ACCESS_TOKEN,
            DuendeStubs.REFRESH_TOKEN,
            DuendeStubs.ROTATED_REFRESH_TOKEN,
            DuendeStubs.SECOND_ROTATED_REFRESH_TOKEN,
            DuendeStubs.ID_TOKEN,
            DuendeStubs.ID_TOKEN.split("\\.")[1]);

    private LogScan() {}

    public static String read() throws IOException {
        StringBuilder all = new StringBuilder();
        try (var files = Files.list(Path.of("target"))) {
            for (Path log : files.filter(p -> p.getFileName().toString().startsWith("broker-test.log"))
                    .toList()) {
                all.append(Files.readString(log, StandardCharsets.UTF_8));
            }
        }
        return all.toString();
    }

    /**
     * Fails on any seeded or given secret, on anything shaped like a JWT (every upstream token in these tests is
     * one, mock-oauth2-server's random ones included), on a Basic header and on raw token form fields.
     */
    public static void assertClean(String log, List<String> alsoSecret) {
        assertTrue(log.contains("operation="), "the scan reads the broker's log");
        assertNoTokenMaterial("the log", log, alsoSecret);
    }

    /** The same checks on any text the broker gave out, {@code what} (the log, exported spans). */
    public static void assertNoTokenMaterial(String what, String text, List<String> alsoSecret) {
        List<String> secrets = new ArrayList<>(SEEDED);
        secrets.addAll(alsoSecret);
        for (String secret : secrets) {
            assertFalse(text.contains(secret), what + " contains a secret: " + secret.substring(0, 6) + "…");
        }
        // A JWT's shape (base64url of '{"' then a dot), not the bare "eyJ": random ids such as session ids may contain
        // that.
        assertFalse(JWT.matcher(text).find(), what + " contains a JWT");
        for (String shape : List.of("Basic ", "refresh_token=", "code_verifier=", "client_secret=", "code=")) {
            assertFalse(text.contains(shape), what + " contains '" + shape + "'");
        }
    }
}
