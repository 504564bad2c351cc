package dev.tokenbroker.token;

import java.time.Duration;
import java.util.function.BooleanSupplier;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.session.RevocationOutbox;
import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Redis and the upstream fail at once: the revocation is counted as lost, the caller sees no error, the worker recovers. */
@QuarkusTest
@WithTestResource(value = RedisResource.class, initArgs = @ResourceArg(name = "dedicated", value = "true"))
@WithTestResource(WireMockUpstreamResource.class)
class RevocationOutboxRedisOutageTest {

    static final String WARM_UP_TOKEN = "RT-outbox-warm-2b9d4f6e8a";
    static final String LOST_TOKEN = "RT-outbox-lost-4e2a8c6b0d";
    static final String LATER_TOKEN = "RT-outbox-later-7d1f3b5a9c";

    @Inject
    UpstreamRevocations revocations;

    @Inject
    RevocationOutbox outbox;

    @Inject
    MeterRegistry registry;

    @Inject
    Clients clients;

    @Test
    void revocationThatCannotBeQueuedIsCountedAndTheWorkerRecoversWithRedis() {
        DuendeStubs upstream = DuendeStubs.reset();
        RegisteredClient clover = clients.byClientId("clover").orElseThrow();
        // A first call warms the REST client, so that the call under test fails because of the upstream's 503.
        upstream.upstreamAcceptsRevocation();
        revocations.revoke(clover, WARM_UP_TOKEN).await().indefinitely();
        upstream.upstreamRevocationFails();
        double failed = count("broker.revocation.outbox.enqueue.failed");
        double enqueued = count("broker.revocation.outbox.enqueued");

        RedisResource.current().stop();
        try {
            revocations.revoke(clover, LOST_TOKEN).await().indefinitely();
            assertEquals(failed + 1, count("broker.revocation.outbox.enqueue.failed"));
            assertEquals(enqueued, count("broker.revocation.outbox.enqueued"));
        } finally {
            RedisResource.current().resume();
        }

        await("Redis answers again", () -> {
            try {
                outbox.pending();
                return true;
            } catch (RuntimeException e) {
                return false;
            }
        });
        revocations.revoke(clover, LATER_TOKEN).await().indefinitely();
        assertEquals(enqueued + 1, count("broker.revocation.outbox.enqueued"));
        upstream.upstreamAcceptsRevocation();
        await(
                "the worker, alive after the outage, delivers",
                () -> outbox.pending() == 0
                        && upstream.revocations().stream()
                                .anyMatch(r -> r.getBodyAsString().contains(LATER_TOKEN)));
    }

    private double count(String counter) {
        return registry.get(counter).counter().count();
    }

    private static void await(String what, BooleanSupplier condition) {
        Await.until(what, Duration.ofSeconds(15), condition);
    }
}
