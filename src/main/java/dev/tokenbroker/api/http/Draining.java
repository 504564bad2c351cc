package dev.tokenbroker.api.http;

import java.time.Duration;
import java.util.Optional;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;

/**
 * Graceful shutdown, what Quarkus leaves to the application. On SIGTERM Quarkus turns readiness DOWN and keeps serving
 * for {@code quarkus.shutdown.delay}, so that the Service stops routing to the pod; then it waits up to
 * {@code quarkus.shutdown.timeout} for in-flight requests, but still hands new ones to the application. From the end
 * of the delay on, this answers every request outside {@code /q/} with 503, {@code Retry-After: 1} and
 * {@code Connection: close}, so a client that still reaches this pod retries on another replica, and only requests
 * that were already in flight (a refresh waiting for the upstream, then its commit) finish here.
 */
@Singleton
public class Draining {

    private static final Logger LOG = Logger.getLogger(Draining.class);

    private final Vertx vertx;
    private final Optional<Duration> delay;
    private volatile boolean draining;

    Draining(Vertx vertx, @ConfigProperty(name = "quarkus.shutdown.delay") Optional<Duration> delay) {
        this.vertx = vertx;
        this.delay = delay;
    }

    void install(@Observes Router router, ObjectMapper json) throws JsonProcessingException {
        String body = json.writeValueAsString(
                new ErrorResponse("temporarily_unavailable", "The broker is shutting down, retry"));
        router.route().order(FilterOrder.DRAINING).handler(ctx -> {
            if (draining && !ctx.normalizedPath().startsWith("/q/")) {
                ctx.response()
                        .setStatusCode(503)
                        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
                        .putHeader("Pragma", "no-cache")
                        .putHeader("Retry-After", "1")
                        .putHeader(HttpHeaders.CONNECTION, "close")
                        .end(body);
            } else {
                ctx.next();
            }
        });
    }

    /** Fired when SIGTERM arrives and a shutdown delay is configured; readiness is DOWN from now on. */
    void onShutdownDelay(@Observes ShutdownDelayInitiatedEvent event) {
        long millis = Math.max(1, delay.orElse(Duration.ZERO).toMillis());
        vertx.setTimer(millis, id -> {
            draining = true;
            LOG.info("Shutdown delay over: new requests are answered 503, in-flight ones may finish");
        });
    }
}
