package dev.tokenbroker.api;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.LogScan;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client that sends its headers and part of its body, then closes the connection, is not a server error: no ERROR
 * line, no 5xx in the HTTP metrics, only a DEBUG line. The back-channel logout endpoint reads its body on a worker
 * thread, where the closed connection surfaces as an exception (before the fix: ERROR "Unexpected failure" and a 500).
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class ClientAbortTest {

    @ConfigProperty(name = "quarkus.http.test-port")
    int port;

    /** Read on a worker thread: the closed connection surfaces as an exception in the resource. */
    @Test
    void clientClosingMidBodyOfABlockingEndpointIsLoggedAtDebugAndNotAServerError() throws Exception {
        String path = "/oidc/backchannel-logout";
        int logBefore = LogScan.read().length();

        // The close must come while the worker thread waits for the rest of the body, not before the request reached
        // it (then Vert.x just drops the request): keep the connection open a little longer on each attempt.
        for (int attempt = 1; attempt <= 5 && !workerSawTheClose(logBefore); attempt++) {
            double requestsBefore = requests(path);
            sendHalfAndClose(path, 100L * attempt);
            Await.until(
                    "the aborted request was counted", Duration.ofSeconds(10), () -> requests(path) > requestsBefore);
        }
        assertTrue(workerSawTheClose(logBefore), "the worker thread saw the closed connection");
        Await.until(
                "the exception mappers handled it",
                Duration.ofSeconds(10),
                () -> readLog(logBefore).contains("Unexpected failure")
                        || readLog(logBefore).contains("Client closed the connection mid-request"));

        String log = readLog(logBefore);
        assertTrue(log.contains("DEBUG [de.to.ap.ht.ErrorMapper]"), log);
        assertFalse(log.contains("Unexpected failure"), log);
        assertFalse(log.contains(" ERROR "), log);
        assertEquals(0, serverErrors(path), "no 5xx counted");
    }

    /** Read on the event loop: the request never reaches the resource. */
    @ParameterizedTest
    @ValueSource(strings = {"/oauth2/token", "/oauth2/revoke"})
    void clientClosingMidBodyOfATokenEndpointIsNotAServerError(String path) throws Exception {
        int logBefore = LogScan.read().length();
        double requestsBefore = requests(path);

        sendHalfAndClose(path, 100);
        Await.until("the aborted request was counted", Duration.ofSeconds(10), () -> requests(path) > requestsBefore);

        String log = readLog(logBefore);
        assertFalse(log.contains(" ERROR "), log);
        assertEquals(0, serverErrors(path), "no 5xx counted");
    }

    /** The exception the worker thread got, as logged by RESTEasy before any mapper runs. */
    private static boolean workerSawTheClose(int logBefore) {
        return readLog(logBefore).contains("Error occurred during deserialization of input");
    }

    private void sendHalfAndClose(String path, long holdMillis) throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: localhost\r\n"
                            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
                            + "client_id=clover&logout_tok")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Thread.sleep(holdMillis);
        }
    }

    private static String readLog(int from) {
        try {
            String all = LogScan.read();
            return all.length() > from ? all.substring(from) : "";
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static double requests(String path) {
        return metricsFor(path)
                .filter(l -> l.startsWith("http_server_requests_seconds_count"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    private static double serverErrors(String path) {
        return metricsFor(path)
                .filter(l -> l.startsWith("http_server_requests_seconds_count") && l.contains("status=\"5"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    private static java.util.stream.Stream<String> metricsFor(String path) {
        return Management.metrics().lines().filter(l -> l.contains("uri=\"" + path + "\""));
    }
}
