package dev.tokenbroker.upstream;

import java.net.ConnectException;
import java.net.SocketException;
import java.net.UnknownHostException;
import javax.net.ssl.SSLHandshakeException;

import jakarta.ws.rs.ProcessingException;

import org.junit.jupiter.api.Test;

import io.netty.channel.ConnectTimeoutException;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.core.impl.NoStackTraceTimeoutException;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whether a failed upstream call may have reached the upstream decides whether a refresh lock is kept. */
class FailureClassificationTest {

    private static ProcessingException wrapped(Throwable cause) {
        return new ProcessingException(cause);
    }

    @Test
    void failuresBeforeTheRequestLeftAreNotSent() {
        assertFalse(UpstreamClient.wasSent(wrapped(new ConnectException("Connection refused"))));
        assertFalse(UpstreamClient.wasSent(wrapped(new ConnectTimeoutException("connection timed out"))));
        assertFalse(UpstreamClient.wasSent(wrapped(new UnknownHostException("upstream.invalid"))));
        assertFalse(UpstreamClient.wasSent(wrapped(new SSLHandshakeException("bad certificate"))));
        assertFalse(UpstreamClient.wasSent(wrapped(new ConnectionPoolTooBusyException("queue full"))));
    }

    @Test
    void failuresAfterTheRequestMayHaveLeftMayHaveReachedTheUpstream() {
        assertTrue(UpstreamClient.wasSent(wrapped(new SocketException("Connection reset"))));
        assertTrue(UpstreamClient.wasSent(wrapped(new NoStackTraceTimeoutException("idle"))));
        assertTrue(UpstreamClient.wasSent(new io.smallrye.mutiny.TimeoutException()));
    }

    @Test
    void timeoutsAreTheConcreteTimeoutTypes() {
        assertTrue(UpstreamClient.isTimeout(wrapped(new NoStackTraceTimeoutException("idle"))));
        assertTrue(UpstreamClient.isTimeout(new io.smallrye.mutiny.TimeoutException()));
        assertFalse(UpstreamClient.isTimeout(wrapped(new SocketException("Connection reset"))));
        assertFalse(UpstreamClient.isTimeout(wrapped(new IllegalStateException("TimeoutLikeName"))));
    }
}
