package dev.tokenbroker.redis;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import dev.tokenbroker.error.BrokerException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.smallrye.mutiny.Uni;

/**
 * How the stores make a reactive Redis call that must not fail open: bounded by {@code quarkus.redis.timeout} (the
 * reactive client has no timeout of its own), timed in {@code broker_redis_operations_seconds} by operation and
 * outcome, every failure counted in {@code broker_redis_errors_total} and turned into
 * {@link BrokerException.StoreUnavailable}. With tracing on, each call a request makes is a span of its trace, named
 * {@code redis } + operation, with no keys or arguments (the Redis client's own spans, one per command, are off:
 * application.properties).
 */
@Singleton
public class RedisCalls {

    private static final AttributeKey<String> DB_SYSTEM_NAME = AttributeKey.stringKey("db.system.name");

    private final Duration timeout;
    private final Counter errors;
    private final MeterRegistry registry;
    /** By operation: the timers of its two outcomes, {@code success} and {@code error}. */
    private final Map<String, Timer[]> timers = new ConcurrentHashMap<>();
    /** Null when tracing is off: then no span is started, not even a no-op one. */
    private final Tracer tracer;

    RedisCalls(
            MeterRegistry registry,
            Tracer tracer,
            @ConfigProperty(name = "quarkus.otel.sdk.disabled", defaultValue = "true") boolean tracingOff,
            @ConfigProperty(name = "quarkus.redis.timeout", defaultValue = "10s") Duration timeout) {
        this.timeout = timeout;
        this.registry = registry;
        this.tracer = tracingOff ? null : tracer;
        this.errors = Counter.builder("broker.redis.errors")
                .description("Failed Redis operations")
                .register(registry);
    }

    /**
     * @param operation what the call does, from a fixed set of phrases: "Redis failed to " + operation in the log,
     *                  and with {@code _} for spaces the timer's {@code operation} tag
     */
    public <T> Uni<T> guard(String operation, Uni<T> call) {
        return Uni.createFrom().deferred(() -> {
            long started = System.nanoTime();
            return (tracer == null ? call : traced(operation, call))
                    .ifNoItem()
                    .after(timeout)
                    .fail()
                    .onItemOrFailure()
                    .invoke((item, failure) ->
                            timer(operation, failure != null).record(System.nanoTime() - started, TimeUnit.NANOSECONDS))
                    .onFailure()
                    .transform(e -> {
                        errors.increment();
                        return new BrokerException.StoreUnavailable(
                                "Redis failed to " + operation + ": "
                                        + e.getClass().getName(),
                                e);
                    });
        });
    }

    /** The call as a span of the current trace; a call outside any trace (background work) makes none. */
    private <T> Uni<T> traced(String operation, Uni<T> call) {
        if (!Span.current().getSpanContext().isValid()) {
            return call;
        }
        Span span = tracer.spanBuilder("redis " + operation)
                .setSpanKind(SpanKind.CLIENT)
                .setAttribute(DB_SYSTEM_NAME, "redis")
                .startSpan();
        return call.onItemOrFailure()
                .invoke((item, failure) -> {
                    if (failure != null) {
                        span.setStatus(StatusCode.ERROR, failure.getClass().getName());
                    }
                    span.end();
                })
                .onCancellation()
                .invoke(() -> {
                    span.setStatus(StatusCode.ERROR, "timed out");
                    span.end();
                });
    }

    /** Looked up by the operation's constant phrase alone: nothing is built per call. */
    private Timer timer(String operation, boolean failed) {
        Timer[] byOutcome =
                timers.computeIfAbsent(operation, k -> new Timer[] {register(k, "success"), register(k, "error")});
        return byOutcome[failed ? 1 : 0];
    }

    private Timer register(String operation, String outcome) {
        return Timer.builder("broker.redis.operations")
                .description("Redis commands and scripts by operation and outcome (success, error)")
                .tag("operation", operation.replace(' ', '_'))
                .tag("outcome", outcome)
                .register(registry);
    }
}
