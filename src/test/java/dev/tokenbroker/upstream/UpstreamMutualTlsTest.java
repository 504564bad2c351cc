package dev.tokenbroker.upstream;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLPeerUnverifiedException;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.support.TestCa;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code tls_client_auth} on the wire (RFC 8705 §2.1): a TLS upstream of the test's own CA that asks for a client
 * certificate sees the client's certificate on that client's calls, and none on every other call. The certificate is
 * read once, at start.
 */
class UpstreamMutualTlsTest {

    @TempDir
    static Path dir;

    static Vertx vertx;
    static HttpServer upstream;
    static Path clientPem;
    static UpstreamHttp http;

    @BeforeAll
    static void start() throws Exception {
        Path ca = TestCa.issue(dir, "upstream", "ip:127.0.0.1");
        TestCa.issue(dir, "clover-mtls", "dns:clover-mtls");
        // What an operator mounts: the client's key, then its certificate.
        clientPem = Files.writeString(
                dir.resolve("clover-mtls-client.pem"),
                Files.readString(dir.resolve("clover-mtls.key")) + Files.readString(dir.resolve("clover-mtls.pem")));
        vertx = Vertx.vertx();
        upstream = vertx.createHttpServer(new HttpServerOptions()
                        .setSsl(true)
                        .setKeyCertOptions(new PemKeyCertOptions()
                                .setKeyPath(dir.resolve("upstream.key").toString())
                                .setCertPath(dir.resolve("upstream.pem").toString()))
                        .setTrustOptions(new PemTrustOptions().addCertPath(ca.toString()))
                        .setClientAuth(ClientAuth.REQUEST))
                .requestHandler(request -> {
                    String peer;
                    try {
                        peer = request.connection().peerCertificates().get(0).toString();
                    } catch (SSLPeerUnverifiedException none) {
                        peer = "none";
                    }
                    // A new connection, so a new handshake, for every call.
                    request.response().putHeader("Connection", "close").end(peer);
                })
                .listen(0, "127.0.0.1")
                .toCompletionStage()
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        http = httpOf(DiscoveryTrustTest.config(Map.of(
                "broker.upstream.trust-certificates", ca.toString(),
                "broker.clients.mtls.client-id", "clover-mtls",
                "broker.clients.mtls.auth-method", "tls_client_auth",
                "broker.clients.mtls.tls-client-certificate", clientPem.toString(),
                "broker.clients.mtls.redirect-uris", "clover-mtls://cb")));
        // Read at start: what happens to the file later does not matter.
        Files.delete(clientPem);
    }

    private static UpstreamHttp httpOf(BrokerConfig config) {
        return new UpstreamHttp(vertx, config, DiscoveryTrustTest.upstream(config));
    }

    @AfterAll
    static void stop() {
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().join();
        }
    }

    private static String peerSeenBy(Optional<Path> clientCertificate) throws Exception {
        return peerSeenBy(clientCertificate, "127.0.0.1");
    }

    private static String peerSeenBy(Optional<Path> clientCertificate, String host) throws Exception {
        return http.send(
                        clientCertificate,
                        http.request(HttpMethod.POST, "https://" + host + ":" + upstream.actualPort() + "/token"),
                        Buffer.buffer("grant_type=refresh_token"))
                .await()
                .atMost(Duration.ofSeconds(10))
                .body();
    }

    @Test
    void theClientsCallsPresentItsCertificate() throws Exception {
        String peer = peerSeenBy(Optional.of(clientPem));
        assertTrue(peer.contains("CN=clover-mtls"), peer);
        assertEquals(peer, peerSeenBy(Optional.of(clientPem)), "the same certificate on the next call");
    }

    @Test
    void everyOtherCallPresentsNone() throws Exception {
        assertEquals("none", peerSeenBy(Optional.empty()));
    }

    /** What cert-manager does before a certificate expires: the broker takes up the renewed one without a restart. */
    @Test
    void aRenewedCertificateIsPresentedOnNewConnectionsAndABrokenFileIsRefused() throws Exception {
        TestCa.issue(dir, "clover-renewed", "dns:clover-renewed");
        try {
            Files.writeString(
                    clientPem,
                    Files.readString(dir.resolve("clover-renewed.key"))
                            + Files.readString(dir.resolve("clover-renewed.pem")));
            assertEquals(1, http.reloadTls());
            assertTrue(peerSeenBy(Optional.of(clientPem)).contains("CN=clover-renewed"));

            Files.writeString(clientPem, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
            assertEquals(0, http.reloadTls(), "refused: the renewed one stays");
            assertTrue(peerSeenBy(Optional.of(clientPem)).contains("CN=clover-renewed"));
            assertEquals("none", peerSeenBy(Optional.empty()), "the shared client still presents none");
            // Only trust and key material changed: the host name is still checked (the certificate names 127.0.0.1).
            Exception wrongName = assertThrows(Exception.class, () -> peerSeenBy(Optional.of(clientPem), "localhost"));
            assertTrue(causes(wrongName).anyMatch(SSLHandshakeException.class::isInstance), wrongName.toString());
        } finally {
            Files.writeString(
                    clientPem,
                    Files.readString(dir.resolve("clover-mtls.key"))
                            + Files.readString(dir.resolve("clover-mtls.pem")));
            http.reloadTls();
        }
    }

    /** A company's CA bundle may be as large as the system's (about 200 KB): read whole, not cut off. */
    @Test
    void aLargeCaBundleIsReadWhole() throws Exception {
        String ca = Files.readString(dir.resolve("ca.pem"));
        String other = Files.readString(dir.resolve("upstream.pem"));
        Path bundle = Files.writeString(dir.resolve("bundle.pem"), other.repeat(300) + ca);
        assertTrue(Files.size(bundle) > 128 * 1024);
        UpstreamHttp bundled =
                httpOf(DiscoveryTrustTest.config(Map.of("broker.upstream.trust-certificates", bundle.toString())));

        String peer = bundled.send(
                        Optional.empty(),
                        bundled.request(HttpMethod.POST, "https://127.0.0.1:" + upstream.actualPort() + "/token"),
                        Buffer.buffer("grant_type=refresh_token"))
                .await()
                .atMost(Duration.ofSeconds(10))
                .body();
        assertEquals("none", peer);
    }

    private static Stream<Throwable> causes(Throwable e) {
        return Stream.iterate(e, t -> t != null, Throwable::getCause);
    }

    /** No connection, nothing sent: a refresh failing so is not in doubt, and its session lives on. */
    @Test
    void aCertificateTheBrokerDidNotReadAtStartFailsBeforeAnythingIsSent() {
        Throwable failure = assertThrows(Exception.class, () -> peerSeenBy(Optional.of(dir.resolve("unknown.pem"))));
        assertTrue(
                failure instanceof UpstreamHttp.NoConnection || failure.getCause() instanceof UpstreamHttp.NoConnection,
                failure.toString());
        assertFalse(UpstreamClient.wasSent(failure));
    }
}
