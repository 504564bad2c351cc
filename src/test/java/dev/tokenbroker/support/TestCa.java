package dev.tokenbroker.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A certificate authority of the test's own, which the JVM does not trust, made with the JDK's keytool in a directory:
 * {@code ca.pem}, and per server {@code <name>.p12} (key and certificate, password {@link #PASSWORD}),
 * {@code <name>.pem} and {@code <name>.key}.
 */
public final class TestCa {

    public static final String PASSWORD = "changeit";

    private TestCa() {}

    /**
     * Issues a certificate for {@code subjectAlternativeNames} (keytool's form, e.g. {@code dns:localhost,ip:127.0.0.1})
     * from the CA in {@code dir}, making the CA first if there is none; returns {@code ca.pem}.
     */
    public static Path issue(Path dir, String name, String subjectAlternativeNames)
            throws IOException, InterruptedException {
        String ec = " -keyalg EC -groupname secp256r1 -validity 2 -storepass " + PASSWORD;
        if (!Files.exists(dir.resolve("ca.p12"))) {
            keytool(dir, "-genkeypair -alias ca -dname CN=token-broker-test-CA -ext bc:c -keystore ca.p12" + ec);
            keytool(dir, "-exportcert -alias ca -keystore ca.p12 -rfc -file ca.pem -storepass " + PASSWORD);
        }
        keytool(dir, "-genkeypair -alias " + name + " -dname CN=" + name + " -keystore " + name + ".p12" + ec);
        keytool(
                dir,
                "-certreq -alias " + name + " -keystore " + name + ".p12 -file " + name + ".csr -storepass "
                        + PASSWORD);
        keytool(
                dir,
                "-gencert -alias ca -keystore ca.p12 -infile " + name + ".csr -outfile " + name + ".pem -rfc"
                        + " -validity 2 -ext san=" + subjectAlternativeNames + " -storepass " + PASSWORD);
        // The signed certificate back into the server's key store, after the CA's (its chain).
        keytool(dir, "-importcert -alias ca -file ca.pem -keystore " + name + ".p12 -storepass " + PASSWORD);
        keytool(
                dir,
                "-importcert -alias " + name + " -file " + name + ".pem -keystore " + name + ".p12 -storepass "
                        + PASSWORD);
        try (var in = Files.newInputStream(dir.resolve(name + ".p12"))) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, PASSWORD.toCharArray());
            PrivateKey key = (PrivateKey) store.getKey(name, PASSWORD.toCharArray());
            Files.writeString(
                    dir.resolve(name + ".key"),
                    "-----BEGIN PRIVATE KEY-----\n"
                            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                                    .encodeToString(key.getEncoded())
                            + "\n-----END PRIVATE KEY-----\n");
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
        return dir.resolve("ca.pem");
    }

    /** A PKCS#12 trust store ({@code ca-trust.p12}, password {@link #PASSWORD}) with the CA in {@code dir} alone. */
    public static Path trustStore(Path dir) throws IOException, InterruptedException {
        keytool(
                dir,
                "-importcert -alias ca -file ca.pem -keystore ca-trust.p12 -storetype PKCS12 -storepass " + PASSWORD);
        return dir.resolve("ca-trust.p12");
    }

    /** Runs the JDK's keytool in {@code dir} with these space-separated arguments. */
    private static void keytool(Path dir, String args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-noprompt"));
        command.addAll(List.of(args.split(" ")));
        Process p = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("keytool " + args + " failed: " + out);
        }
    }
}
