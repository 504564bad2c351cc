package dev.tokenbroker.support;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Metrics;
import io.quarkus.runtime.ShutdownEvent;

/**
 * Quarkus registers the broker's meters on Micrometer's global composite registry, which outlives one test application:
 * a later application in the same JVM got the earlier one's meters back, bound to beans that were gone (a pending
 * gauge still showing a stopped outbox's last count, a gauge calling a closed Redis client at every scrape). Clearing
 * it when an application stops gives every test application its own meters, as a production process has.
 */
@Singleton
class FreshMeters {

    void clear(@Observes ShutdownEvent event) {
        Metrics.globalRegistry.clear();
    }
}
