package dev.tokenbroker.redis;

import java.time.Duration;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import dev.tokenbroker.error.BrokerException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;

/**
 * How the stores make a reactive Redis call that must not fail open: bounded by {@code quarkus.redis.timeout} (the
 * reactive client has no timeout of its own), every failure counted in {@code broker_redis_errors_total} and turned
 * into {@link BrokerException.StoreUnavailable}.
 */
@Singleton
public class RedisCalls {

    private final Duration timeout;
    private final Counter errors;

    RedisCalls(
            MeterRegistry registry,
            @ConfigProperty(name = "quarkus.redis.timeout", defaultValue = "10s") Duration timeout) {
        this.timeout = timeout;
        this.errors = Counter.builder("broker.redis.errors")
                .description("Failed Redis operations")
                .register(registry);
    }

    /** @param operation what failed, for the log: "Redis failed to " + operation */
    public <T> Uni<T> guard(String operation, Uni<T> call) {
        return call.ifNoItem().after(timeout).fail().onFailure().transform(e -> {
            errors.increment();
            return new BrokerException.StoreUnavailable(
                    "Redis failed to " + operation + ": " + e.getClass().getName(), e);
        });
    }
}
