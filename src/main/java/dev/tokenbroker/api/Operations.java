package dev.tokenbroker.api;

import java.util.concurrent.TimeUnit;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.error.BrokerException;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * One log line and one timer sample per token operation: operation, client name, outcome and latency.
 * Tags and log fields are all from fixed sets (client names come from configuration), never request values.
 */
@Singleton
class Operations {

    private static final Logger LOG = Logger.getLogger(Operations.class);

    private final MeterRegistry registry;

    Operations(MeterRegistry registry) {
        this.registry = registry;
    }

    Operation begin(String name) {
        return new Operation(name);
    }

    /** Outcome label of a failure: the RFC 6749 error for client errors, the broker-side cause otherwise. */
    static String outcome(RuntimeException e) {
        if (e instanceof BrokerException.UpstreamRejectedBroker) {
            return "upstream_rejected_broker";
        } else if (e instanceof BrokerException.UpstreamUnavailable) {
            return "upstream_error";
        } else if (e instanceof BrokerException.UpstreamTimeout) {
            return "upstream_timeout";
        } else if (e instanceof BrokerException.StoreUnavailable) {
            return "store_error";
        } else if (e instanceof BrokerException.RefreshContended) {
            return "refresh_contended";
        } else if (e instanceof BrokerException b && b.status() < 500) {
            return b.error();
        }
        return "server_error";
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

        <T> T succeeded(T result) {
            end("success");
            return result;
        }

        RuntimeException failed(RuntimeException e) {
            end(outcome(e));
            return e;
        }

        private void end(String outcome) {
            long nanos = System.nanoTime() - started;
            Timer.builder("broker.token.operations")
                    .description("Token operations (exchange, refresh, revoke) by client and outcome")
                    .tag("operation", name).tag("client", client).tag("outcome", outcome)
                    .register(registry).record(nanos, TimeUnit.NANOSECONDS);
            LOG.infof("operation=%s client=%s outcome=%s latency_ms=%d", name, client, outcome,
                    TimeUnit.NANOSECONDS.toMillis(nanos));
        }
    }
}
