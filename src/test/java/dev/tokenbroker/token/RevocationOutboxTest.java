package dev.tokenbroker.token;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.github.tomakehurst.wiremock.client.WireMock;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.session.RevocationOutbox;
import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.LogScan;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.redis.datasource.stream.StreamMessage;
import io.quarkus.redis.datasource.stream.StreamRange;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Failed upstream revocations are queued in Redis and retried until the upstream confirms them, by this broker's
 * background worker or by another replica. Tests that need their own limits or a second replica build
 * {@link RevocationOutbox} instances on a key prefix of their own, so the application's worker leaves them alone.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class RevocationOutboxTest {

    @Inject
    UpstreamRevocations revocations;

    @Inject
    RevocationOutbox outbox;

    @Inject
    RedisDataSource redis;

    @Inject
    KeyRing keyRing;

    @Inject
    MeterRegistry registry;

    @Inject
    Clients clients;

    DuendeStubs upstream;
    RegisteredClient clover;

    /** Outbox limits for a replica built by a test. */
    record Limits(
            Duration pollInterval,
            Duration initialBackoff,
            Duration maxBackoff,
            int maxAttempts,
            int batchSize,
            Duration claimIdle)
            implements BrokerConfig.Outbox {}

    @BeforeEach
    void resetUpstream() {
        upstream = DuendeStubs.reset();
        clover = clients.byClientId("clover").orElseThrow();
    }

    @Test
    void revocationRejectedByTheUpstreamIsQueuedAndDeliveredOnceTheUpstreamIsBack() throws Exception {
        String token = newToken("back");
        upstream.upstreamRevocationFails();
        double enqueued = count("broker.revocation.outbox.enqueued");
        double delivered = count("broker.revocation.outbox.delivered");

        revocations.revoke(clover, token).await().indefinitely();

        assertEquals(enqueued + 1, count("broker.revocation.outbox.enqueued"));
        assertEquals(1, attempts(token), "one immediate attempt");
        assertTrue(outbox.pending() >= 1, "the token is queued, not forgotten");
        await("the worker retries while the upstream fails", () -> attempts(token) >= 3);
        assertEquals(0, confirmed(token));

        upstream.upstreamAcceptsRevocation();
        await("the worker delivers the queued revocation", () -> confirmed(token) == 1 && outbox.pending() == 0);
        await(
                "the pending gauge drops to 0",
                () -> registry.get("broker.revocation.outbox.pending").gauge().value() == 0);
        // The worker counts a delivery after it has deleted the entry: wait for the count, not just the deletion.
        await("the delivery is counted", () -> count("broker.revocation.outbox.delivered") == delivered + 1);
        assertEquals(1, confirmed(token), "exactly one confirmed revocation; a finished entry is deleted");
        assertNotLogged(token);
    }

    @Test
    void revocationConfirmedAtOnceIsNotQueued() {
        String token = newToken("once");
        upstream.upstreamAcceptsRevocation();
        double enqueued = count("broker.revocation.outbox.enqueued");

        revocations.revoke(clover, token).await().indefinitely();

        assertEquals(1, confirmed(token));
        assertEquals(enqueued, count("broker.revocation.outbox.enqueued"));
    }

    @Test
    void queuedEntryHoldsTheRefreshTokenOnlyEncrypted() throws Exception {
        String token = newToken("sealed");
        upstream.upstreamRevocationFails();

        revocations.revoke(clover, token).await().indefinitely();

        List<StreamMessage<String, String, String>> entries =
                redis.stream(String.class).xrange(outbox.streamKey(), StreamRange.of("-", "+"));
        assertFalse(entries.isEmpty());
        for (StreamMessage<String, String, String> entry : entries) {
            assertTrue(entry.payload().get("rt").startsWith("v1."), "a key ring envelope");
            entry.payload().forEach((field, value) -> assertFalse(value.contains(token), "plaintext in " + field));
        }
        assertFalse(
                redis.execute("XRANGE", outbox.streamKey(), "-", "+").toString().contains(token));

        upstream.upstreamAcceptsRevocation();
        await("the queue drains", () -> confirmed(token) == 1 && outbox.pending() == 0);
        assertNotLogged(token);
    }

    @Test
    void replicaGivesUpAfterMaxAttemptsAndCountsIt() throws Exception {
        String token = newToken("exhausted");
        upstream.upstreamRevocationFails();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RevocationOutbox replica =
                replica(newPrefix(), "replica-a", meters, 3, Duration.ofMillis(50), Duration.ofSeconds(1));

        replica.enqueue(clover.clientId(), token);
        await("the replica gives up", () -> {
            revocations.deliverDue(replica);
            return meters.counter("broker.revocation.outbox.given.up").count() == 1;
        });

        assertEquals(2, attempts(token), "max-attempts 3: the immediate attempt (not made here) and two retries");
        assertEquals(0, replica.pending());
        assertEquals(0, meters.counter("broker.revocation.outbox.delivered").count());
        assertNotLogged(token);
    }

    /**
     * A second upstream that fails (WireMock's {@code /second}) costs one attempt per poll: its other entries wait,
     * and the entry of the healthy upstream queued behind them is delivered in the same poll.
     */
    @Test
    void anUpstreamThatFailsHoldsUpOnlyItsOwnEntries() {
        WireMockUpstreamResource.server()
                .stubFor(WireMock.post("/second/revocation")
                        .willReturn(WireMock.aResponse().withStatus(503)));
        upstream.upstreamAcceptsRevocation();
        RevocationOutbox replica = replica(
                newPrefix(), "replica-a", new SimpleMeterRegistry(), 5, Duration.ofMillis(1), Duration.ofSeconds(60));
        List<String> atSecond = List.of(newToken("second-1"), newToken("second-2"), newToken("second-3"));
        atSecond.forEach(token -> replica.enqueue("clover-second", token));
        String atDefault = newToken("default-behind");
        replica.enqueue(clover.clientId(), atDefault);

        await("the default upstream's entry is delivered", () -> {
            revocations.deliverDue(replica);
            return confirmed(atDefault) == 1;
        });

        List<String> tried = atSecond.stream()
                .filter(token -> !revocationCalls("/second/revocation", token).isEmpty())
                .toList();
        assertEquals(1, tried.size(), "after the first failure the second upstream's other entries wait: " + tried);
    }

    @Test
    void entryOfAnUnknownClientIsGivenUpWithoutCallingTheUpstream() {
        String token = newToken("orphan");
        upstream.upstreamAcceptsRevocation();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RevocationOutbox replica =
                replica(newPrefix(), "replica-a", meters, 5, Duration.ofMillis(1), Duration.ofSeconds(1));

        replica.enqueue("no-such-client", token);
        await("the replica gives up", () -> {
            revocations.deliverDue(replica);
            return meters.counter("broker.revocation.outbox.given.up").count() == 1;
        });

        assertEquals(0, attempts(token));
        assertEquals(0, replica.pending());
    }

    @Test
    void entryClaimedByADeadReplicaIsTakenOverAfterClaimIdle() {
        String token = newToken("orphaned-claim");
        upstream.upstreamAcceptsRevocation();
        String prefix = newPrefix();
        Duration claimIdle = Duration.ofMillis(1500);
        RevocationOutbox dead =
                replica(prefix, "dead-replica", new SimpleMeterRegistry(), 5, Duration.ofMillis(50), claimIdle);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RevocationOutbox alive = replica(prefix, "alive-replica", meters, 5, Duration.ofMillis(50), claimIdle);

        dead.enqueue(clover.clientId(), token);
        List<RevocationOutbox.Entry> taken =
                awaitValue("the dead replica claims the due entry", dead::claimDue, list -> !list.isEmpty());
        assertTrue(dead.renewClaim(taken.get(0)), "it starts its attempt, then dies without acknowledging");
        long diedAt = System.nanoTime();

        assertEquals(0, revocations.deliverDue(alive), "a live claim is not taken over");
        assertEquals(0, attempts(token));
        await("the live replica takes the entry over", () -> revocations.deliverDue(alive) == 1);

        assertTrue(
                System.nanoTime() - diedAt
                        >= claimIdle.toNanos() - Duration.ofMillis(100).toNanos(),
                "not before claim-idle");
        assertEquals(1, confirmed(token));
        assertEquals(1, meters.counter("broker.revocation.outbox.delivered").count());
        assertEquals(0, alive.pending());
        assertFalse(dead.renewClaim(taken.get(0)), "the dead replica's claim is gone");
    }

    @Test
    void entryQueuedBeforeARestartIsDeliveredByTheNextProcess() {
        String token = newToken("restart");
        upstream.upstreamAcceptsRevocation();
        String prefix = newPrefix();
        RevocationOutbox before = replica(
                prefix, "process-1", new SimpleMeterRegistry(), 5, Duration.ofMillis(300), Duration.ofSeconds(1));
        before.enqueue(clover.clientId(), token);
        // The first process read the entry and parked it (not due yet), then stopped: only Redis holds it now.
        assertTrue(before.claimDue().isEmpty());

        RevocationOutbox after = replica(
                prefix, "process-2", new SimpleMeterRegistry(), 5, Duration.ofMillis(300), Duration.ofSeconds(1));
        await("the restarted process delivers", () -> revocations.deliverDue(after) == 1);

        assertEquals(1, confirmed(token));
        assertEquals(0, after.pending());
    }

    private RevocationOutbox replica(
            String prefix,
            String consumer,
            MeterRegistry meters,
            int maxAttempts,
            Duration initialBackoff,
            Duration claimIdle) {
        Limits limits = new Limits(
                Duration.ofMillis(200), initialBackoff, initialBackoff.multipliedBy(2), maxAttempts, 50, claimIdle);
        return new RevocationOutbox(redis, keyRing, prefix, limits, clientId -> "", meters, consumer);
    }

    private static String newPrefix() {
        return "tb-outbox-test-" + UUID.randomUUID().toString().substring(0, 8) + ":";
    }

    private static String newToken(String label) {
        return "RT-outbox-" + label + "-" + UUID.randomUUID().toString().replace("-", "");
    }

    private double count(String counter) {
        return registry.get(counter).counter().count();
    }

    /** RFC 7009 form body the broker sends for a refresh token (clover authenticates with Basic, not in the body). */
    private static String revocationBody(String token) {
        return "token=" + token + "&token_type_hint=refresh_token";
    }

    private static List<ServeEvent> revocationCalls(String token) {
        return revocationCalls("/connect/revocation", token);
    }

    private static List<ServeEvent> revocationCalls(String path, String token) {
        return WireMockUpstreamResource.server().getAllServeEvents().stream()
                .filter(e -> e.getRequest().getUrl().equals(path))
                .filter(e -> e.getRequest().getBodyAsString().equals(revocationBody(token)))
                .toList();
    }

    private static long attempts(String token) {
        return revocationCalls(token).size();
    }

    private static long confirmed(String token) {
        return revocationCalls(token).stream()
                .filter(e -> e.getResponse().getStatus() == 200)
                .count();
    }

    private static void assertNotLogged(String token) throws Exception {
        assertFalse(LogScan.read().contains(token), "the log contains a queued refresh token");
    }

    private static void await(String what, BooleanSupplier condition) {
        awaitValue(what, condition::getAsBoolean, done -> done);
    }

    /** Polls {@code probe} until {@code done} holds, for at most 10 s, and returns what it saw last. */
    private static <T> T awaitValue(String what, Supplier<T> probe, java.util.function.Predicate<T> done) {
        java.util.concurrent.atomic.AtomicReference<T> seen = new java.util.concurrent.atomic.AtomicReference<>();
        Await.until(what, Duration.ofSeconds(10), () -> {
            seen.set(probe.get());
            return done.test(seen.get());
        });
        return seen.get();
    }
}
