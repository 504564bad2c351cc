package dev.tokenbroker.api.oauth2;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.error.BrokerException;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.smallrye.mutiny.Uni;

/**
 * One log line and one timer sample per token operation: operation, client name, outcome and latency.
 * Tags and log fields are all from fixed sets (client names come from configuration), never request values.
 */
@Singleton
public class Operations {

    private static final Logger LOG = Logger.getLogger(Operations.class);

    private final MeterRegistry registry;
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();

    Operations(MeterRegistry registry) {
        this.registry = registry;
    }

    Operation begin(String name) {
        return new Operation(name);
    }

    /** Outcome label of a failure: the exception says it; anything else is a server error. */
    static String outcome(RuntimeException e) {
        return e instanceof BrokerException b ? b.outcome() : "server_error";
    }

    /** Timers by tags, built once each: building and registering on every request showed up in profiles. */
    private Timer timer(String operation, String client, String outcome) {
        return timers.computeIfAbsent(
                operation + " " + client + " " + outcome,
                k -> Timer.builder("broker.token.operations")
                        .description("Token operations (exchange, refresh, revoke) by client and outcome")
                        .tag("operation", operation)
                        .tag("client", client)
                        .tag("outcome", outcome)
                        .register(registry));
    }

    final class Operation {
        private final long started = System.nanoTime();
        private String name;
        private String client = "unknown";

        private Operation(String name) {
            this.name = name;
        }

        void name(String name) {
            this.name = name;
        }

        void client(String clientName) {
            this.client = clientName;
        }

        /** Records the operation when {@code work} ends, however it ends. */
        <T> Uni<T> track(Uni<T> work) {
            return work.onItemOrFailure()
                    .invoke((result, failure) -> end(
                            failure == null
                                    ? "success"
                                    : failure instanceof RuntimeException e ? outcome(e) : "server_error"));
        }

        private void end(String outcome) {
            long nanos = System.nanoTime() - started;
            timer(name, client, outcome).record(nanos, TimeUnit.NANOSECONDS);
            if (LOG.isInfoEnabled()) {
                // Concatenated, not infof: java.util.Formatter was a third of this line's cost on every request.
                LOG.info("operation=" + name + " client=" + client + " outcome=" + outcome + " latency_ms="
                        + TimeUnit.NANOSECONDS.toMillis(nanos));
            }
        }
    }
}
