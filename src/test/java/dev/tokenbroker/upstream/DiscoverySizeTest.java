package dev.tokenbroker.upstream;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.ConfiguredUpstream;
import io.vertx.core.Vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The discovery document is read through the broker's own HTTP client, up to {@code broker.upstream.max-response-size}
 * (64K by default) and no further: a huge answer is cut off while it streams in, not buffered and measured afterwards.
 * A real HTTP server on loopback, so that what the broker reads is what went over a socket.
 */
class DiscoverySizeTest {

    /** Far beyond the bound: buffering it whole would show as this many bytes written. */
    private static final long HUGE = 64L << 20;

    private static HttpServer server;
    private static ExecutorService handlers;
    private static Vertx vertx;
    private static String base;

    /** What the last huge answer got out before the broker hung up, and when it stopped trying. */
    private static final AtomicLong written = new AtomicLong();

    private static volatile CountDownLatch answered;

    @BeforeAll
    static void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        handlers = Executors.newCachedThreadPool();
        server.setExecutor(handlers);
        base = "http://127.0.0.1:" + server.getAddress().getPort();
        server.createContext("/small", exchange -> document(exchange, "/small"));
        server.createContext("/streams-huge", exchange -> huge(exchange, 0));
        server.createContext("/declares-huge", exchange -> huge(exchange, HUGE));
        server.start();
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stop() {
        server.stop(0);
        handlers.shutdownNow();
        vertx.close().toCompletionStage().toCompletableFuture().join();
    }

    /** An upstream that publishes a small, valid discovery document for issuer {@code base + path}. */
    private static void document(HttpExchange exchange, String path) throws IOException {
        byte[] body = ("{\"issuer\":\"" + base + path + "\",\"token_endpoint\":\"" + base + path + "/token\"}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /**
     * An upstream that answers {@link #HUGE} bytes of JSON-ish padding, chunked ({@code declared} 0) or with that
     * {@code Content-Length}, counting what it manages to write until the broker closes the connection.
     */
    private static void huge(HttpExchange exchange, long declared) throws IOException {
        byte[] chunk = new byte[8192];
        Arrays.fill(chunk, (byte) ' ');
        long count = 0;
        try {
            exchange.sendResponseHeaders(200, declared);
            OutputStream out = exchange.getResponseBody();
            while (count < HUGE) {
                out.write(chunk);
                count += chunk.length;
            }
            out.close();
        } catch (IOException broken) {
            // The broker hung up: exactly what it should do.
        } finally {
            written.set(count);
            exchange.close();
            answered.countDown();
        }
    }

    private static UpstreamMetadata discover(String path) {
        BrokerConfig config = DiscoveryTrustTest.config(Map.of("broker.upstream.issuer", base + path));
        ConfiguredUpstream upstream = DiscoveryTrustTest.upstream(config);
        return new UpstreamMetadata(upstream, new UpstreamHttp(vertx, config, upstream), new ObjectMapper());
    }

    @Test
    void aDocumentWithinTheBoundLoads() {
        UpstreamMetadata metadata = discover("/small");
        try {
            assertTrue(metadata.loaded());
            assertEquals(
                    base + "/small/token", metadata.current().tokenEndpoint().toString());
        } finally {
            metadata.stop();
        }
    }

    @Test
    void aHugeStreamedDocumentIsCutOffWhileItArrivesAndDiscoveryFails() throws InterruptedException {
        assertCutOff("/streams-huge");
    }

    @Test
    void aHugeDeclaredDocumentIsRefusedBeforeItsBodyIsRead() throws InterruptedException {
        assertCutOff("/declares-huge");
    }

    private static void assertCutOff(String path) throws InterruptedException {
        answered = new CountDownLatch(1);
        UpstreamMetadata metadata = discover(path);
        try {
            assertFalse(metadata.loaded(), "discovery failed (and is retried later)");
            assertTrue(answered.await(20, TimeUnit.SECONDS), "the upstream noticed the broker hang up");
            // The bound plus what the sockets' buffers took in before the reset: nowhere near the whole answer.
            assertTrue(written.get() < HUGE / 8, written.get() + " of " + HUGE + " bytes were written");
        } finally {
            metadata.stop();
        }
    }
}
