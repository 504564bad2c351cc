package dev.tokenbroker.token;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.session.RevocationOutbox;
import dev.tokenbroker.upstream.UpstreamClient;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

/**
 * Revokes upstream refresh tokens for whoever ends a session, and does not forget one when the upstream is down.
 * <ol>
 * <li>{@link #revoke} tries the upstream once, at once, without blocking.</li>
 * <li>If that fails ({@link BrokerException}: unreachable, 5xx, timeout, rejected), the token goes into the
 * {@link RevocationOutbox} in Redis; if even that fails, a WARN and
 * {@code broker_revocation_outbox_enqueue_failed_total} say so. The caller never sees an exception, so the front
 * end's revoke still answers at once.</li>
 * <li>A daemon thread in every replica polls the outbox every {@code broker.outbox.poll-interval}, takes due
 * entries (at most {@code batch-size}) and tries each again: confirmed entries are removed, failed ones
 * rescheduled with backoff or, after {@code max-attempts}, given up on. An entry whose client is no longer
 * configured, or when no revocation endpoint is known, is given up on. Once an upstream was unreachable, failed
 * (5xx) or timed out, its other entries of that poll are not tried (they come round again after
 * {@code claim-idle}, no attempt counted), so an upstream that is down or slow costs the others at most one call
 * budget per poll.</li>
 * </ol>
 */
@Singleton
public class UpstreamRevocations {

    private static final Logger LOG = Logger.getLogger(UpstreamRevocations.class);

    private final UpstreamClient upstream;
    private final RevocationOutbox outbox;
    private final Clients clients;
    private final BrokerConfig.Outbox config;
    private final Counter enqueueFailed;
    private ScheduledExecutorService worker;
    private volatile boolean stopping;
    private boolean outboxUnavailable;

    UpstreamRevocations(
            UpstreamClient upstream,
            RevocationOutbox outbox,
            Clients clients,
            BrokerConfig config,
            MeterRegistry registry) {
        this.upstream = upstream;
        this.outbox = outbox;
        this.clients = clients;
        this.config = config.outbox();
        this.enqueueFailed = Counter.builder("broker.revocation.outbox.enqueue.failed")
                .description("Failed upstream revocations that could not be queued for retry (Redis failed too)")
                .register(registry);
        Duration budget = upstream.callBudget();
        if (this.config.claimIdle().compareTo(budget) <= 0) {
            LOG.warnf(
                    "broker.outbox.claim-idle (%s) is not above the upstream call budget (%s, connect-timeout + "
                            + "read-timeout): a slow revocation may be taken over and sent again by another replica",
                    this.config.claimIdle(), budget);
        }
    }

    /**
     * RFC 7009 revocation of an upstream refresh token, retried from the outbox if the upstream does not confirm
     * it now. Never fails. The attempt does not block; only queueing a failed one does, on a worker thread.
     */
    public Uni<Void> revoke(RegisteredClient client, String refreshToken) {
        return Uni.createFrom()
                .deferred(() -> upstream.revokeRefreshToken(client, refreshToken))
                .invoke(revoked -> {
                    if (!revoked) {
                        LOG.debugf(
                                "No upstream revocation endpoint: refresh token of client %s not revoked upstream",
                                client.name());
                    }
                })
                .replaceWithVoid()
                .onFailure()
                .recoverWithUni(e -> Uni.createFrom()
                        .<Void>item(() -> {
                            enqueue(client, refreshToken, detail(e));
                            return null;
                        })
                        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool()));
    }

    private void enqueue(RegisteredClient client, String refreshToken, String failure) {
        try {
            outbox.enqueue(client.clientId(), refreshToken);
            LOG.infof("Upstream revocation failed for client %s (%s); queued for retry", client.name(), failure);
        } catch (RuntimeException e) {
            enqueueFailed.increment();
            LOG.warnf(
                    "Upstream revocation failed for client %s (%s) and could not be queued for retry (%s): the "
                            + "refresh token stays valid upstream until it expires",
                    client.name(), failure, detail(e));
        }
    }

    void start(@Observes StartupEvent event) {
        worker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "revocation-outbox");
            t.setDaemon(true);
            return t;
        });
        long interval = config.pollInterval().toMillis();
        // Runs until shutdown; poll() catches what it throws, so the schedule never ends by itself.
        var unused = worker.scheduleWithFixedDelay(this::poll, interval, interval, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        stopping = true;
        if (worker == null) {
            return;
        }
        worker.shutdown();
        try {
            // An attempt in flight may finish; an entry left unfinished is taken over after claim-idle.
            if (!worker.awaitTermination(5, TimeUnit.SECONDS)) {
                worker.shutdownNow();
            }
        } catch (InterruptedException e) {
            worker.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** One scheduled poll; must not throw, or the executor would cancel all later polls. */
    private void poll() {
        try {
            deliverDue(outbox);
            outbox.pending();
            if (outboxUnavailable) {
                LOG.info("Revocation outbox reachable again");
                outboxUnavailable = false;
            }
        } catch (BrokerException e) {
            // One WARN per outage, not one per poll.
            if (!outboxUnavailable) {
                LOG.warnf(
                        "Revocation outbox unavailable (%s); retrying every %s", e.logDetail(), config.pollInterval());
                outboxUnavailable = true;
            }
        } catch (RuntimeException e) {
            LOG.errorf("Revocation outbox poll failed: %s", e.getClass().getName());
        }
    }

    /**
     * Tries every due entry of {@code outbox} once. Package-private so that tests can drive a second outbox
     * (another replica) on the same Redis.
     *
     * @return the number of entries the upstream confirmed
     * @throws BrokerException.StoreUnavailable when Redis failed; unfinished entries are taken over after claim-idle
     */
    int deliverDue(RevocationOutbox outbox) {
        int confirmed = 0;
        // Upstreams that were unreachable, failing or slow in this poll: their other entries wait, so that the other
        // upstreams' are not held up. A refusal (4xx) is one client's configuration, not its upstream's state.
        Set<String> unavailable = new HashSet<>();
        List<RevocationOutbox.Entry> due = outbox.claimDue();
        for (RevocationOutbox.Entry entry : due) {
            if (stopping) {
                break;
            }
            Optional<RegisteredClient> client = clients.byClientId(entry.clientId());
            if (client.isEmpty()) {
                outbox.giveUp(entry, "client id is no longer configured");
                continue;
            }
            if (unavailable.contains(client.get().upstream())) {
                // Left in this replica's pending list: taken again after claim-idle, no attempt counted.
                continue;
            }
            if (!outbox.renewClaim(entry)) {
                continue;
            }
            String failure = null;
            boolean revoked = false;
            try {
                // The outbox thread is not a Vert.x thread: waiting here is fine.
                revoked = upstream.revokeRefreshToken(client.get(), entry.refreshToken())
                        .await()
                        .indefinitely();
            } catch (RuntimeException e) {
                failure = detail(e);
                if (e instanceof BrokerException.UpstreamUnavailable || e instanceof BrokerException.UpstreamTimeout) {
                    unavailable.add(client.get().upstream());
                }
            }
            if (failure != null) {
                outbox.failed(entry, failure);
            } else if (revoked) {
                outbox.delivered(entry);
                confirmed++;
            } else {
                outbox.giveUp(entry, "no upstream revocation endpoint is configured");
            }
        }
        return confirmed;
    }

    /** What the log may say of a failure: a {@link BrokerException}'s own detail, else only the exception's type. */
    private static String detail(Throwable e) {
        return e instanceof BrokerException b ? b.logDetail() : e.getClass().getName();
    }
}
