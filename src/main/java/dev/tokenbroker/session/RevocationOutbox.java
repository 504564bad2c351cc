package dev.tokenbroker.session;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;

import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.redis.LuaScript;
import dev.tokenbroker.redis.RedisKeys;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.redis.datasource.stream.ClaimedMessages;
import io.quarkus.redis.datasource.stream.StreamMessage;
import io.quarkus.redis.datasource.stream.XGroupCreateArgs;
import io.quarkus.redis.datasource.stream.XReadGroupArgs;
import io.vertx.mutiny.redis.client.Response;

/**
 * Upstream refresh tokens whose revocation failed, kept in Redis until the upstream confirms it. One stream
 * {@code <prefix>outbox:{revocations}}, read through the consumer group {@code revokers} with one consumer per
 * replica process; every command and script touches that one key, so Sentinel and Cluster work. An entry holds
 * {@code client} (client id), {@code rt} (the refresh token as a {@link KeyRing} envelope whose associated data
 * names the outbox and the client), {@code attempts} (failed upstream attempts so far), {@code due} (epoch millis
 * of the next attempt) and {@code since} (epoch millis of the first failure).
 * <p>
 * The protocol, per replica:
 * <ol>
 * <li>Enqueue: XADD with {@code attempts=1}, due after {@code initial-backoff} (the immediate attempt failed).</li>
 * <li>Claim, at most {@code batch-size} entries per poll: XAUTOCLAIM of at most half as many entries idle for
 * {@code claim-idle} in any consumer's pending list (a replica that died while holding them, and parked entries, step
 * 3), then XREADGROUP of new entries for the rest, so that a backlog being retaken never keeps new entries out.</li>
 * <li>Park: a claimed entry that is not due yet stays in this replica's pending list; XCLAIM ... IDLE sets its idle
 * time so that it reaches {@code claim-idle} at its due time, when any replica's XAUTOCLAIM takes it (an entry due
 * later than {@code claim-idle} from now is looked at again after {@code claim-idle}).</li>
 * <li>Renew: right before its upstream attempt the replica resets the entry's idle time, if the entry is still in
 * its own pending list; otherwise another replica has taken it over and this one skips it.</li>
 * <li>Finish: XACK and XDEL in one script once the upstream confirmed, or when giving up.</li>
 * <li>Reschedule: in one script, if the entry is still ours, XADD a copy with {@code attempts + 1} and the next due
 * time ({@code initial-backoff} doubled per further failure, at most {@code max-backoff}) and XACK + XDEL the old
 * one. After {@code max-attempts} failed attempts the broker gives up: a WARN and a count, never the token.</li>
 * </ol>
 * Since finished entries are deleted, XLEN is the number of refresh tokens still waiting. Every Redis failure
 * becomes {@link BrokerException.StoreUnavailable}; an entry whose replica failed midway is taken over after
 * {@code claim-idle}, so at worst a token is revoked twice, which RFC 7009 makes harmless.
 */
@Singleton
public class RevocationOutbox {

    private static final Logger LOG = Logger.getLogger(RevocationOutbox.class);

    static final String GROUP = "revokers";

    /** {@code redis/outbox-claim-if-mine.lua} */
    private static final LuaScript CLAIM_IF_MINE = LuaScript.named("outbox-claim-if-mine");

    /** {@code redis/outbox-finish.lua} */
    private static final LuaScript FINISH = LuaScript.named("outbox-finish");

    /** {@code redis/outbox-reschedule.lua} */
    private static final LuaScript RESCHEDULE = LuaScript.named("outbox-reschedule");

    /** What became of an entry whose upstream attempt failed. */
    public enum Retry {
        RESCHEDULED,
        GAVE_UP,
        TAKEN_OVER
    }

    /**
     * One refresh token waiting for upstream revocation. {@code attempts} counts the failed upstream attempts so
     * far; {@code dueAt} and {@code since} are epoch millis. {@link #toString()} leaves the token out.
     */
    public record Entry(String id, String clientId, String refreshToken, int attempts, long dueAt, long since) {
        @Override
        public String toString() {
            return "Entry[id=" + id + ", clientId=" + clientId + ", attempts=" + attempts + ", dueAt=" + dueAt
                    + ", since=" + since + "]";
        }
    }

    private final RedisDataSource redis;
    private final KeyRing keyRing;
    private final BrokerConfig.Outbox config;
    private final String streamKey;
    private final String consumer;
    private final Counter redisErrors;
    private final Counter enqueued;
    private final Function<String, String> upstreamBinding;
    private final Counter delivered;
    private final Counter givenUp;
    private volatile double lastPending = Double.NaN;
    private volatile boolean groupReady;
    private String autoclaimCursor = "0-0";

    @Inject
    RevocationOutbox(
            RedisDataSource redis, KeyRing keyRing, BrokerConfig config, Clients clients, MeterRegistry registry) {
        this(
                redis,
                keyRing,
                config.session().keyPrefix(),
                config.outbox(),
                clients::upstreamBinding,
                registry,
                replicaName());
    }

    /**
     * An outbox on {@code <keyPrefix>outbox:{revocations}} read as consumer {@code consumer}. The application uses
     * the injected bean; this constructor lets tests and tools act as a second replica.
     *
     * @param upstreamBinding {@link Clients#upstreamBinding} by client id
     */
    public RevocationOutbox(
            RedisDataSource redis,
            KeyRing keyRing,
            String keyPrefix,
            BrokerConfig.Outbox config,
            Function<String, String> upstreamBinding,
            MeterRegistry registry,
            String consumer) {
        this.redis = redis;
        this.keyRing = keyRing;
        this.upstreamBinding = upstreamBinding;
        this.config = config;
        this.streamKey = new RedisKeys(keyPrefix).revocationOutbox();
        this.consumer = consumer;
        this.redisErrors = Counter.builder("broker.redis.errors")
                .description("Failed Redis operations")
                .register(registry);
        this.enqueued = Counter.builder("broker.revocation.outbox.enqueued")
                .description("Refresh tokens queued for upstream revocation after a failed attempt")
                .register(registry);
        this.delivered = Counter.builder("broker.revocation.outbox.delivered")
                .description("Queued refresh tokens the upstream confirmed revoked")
                .register(registry);
        this.givenUp = Counter.builder("broker.revocation.outbox.given.up")
                .description(
                        "Queued refresh tokens given up on (attempts exhausted, client or endpoint gone, unreadable)")
                .register(registry);
        Gauge.builder("broker.revocation.outbox.pending", this, o -> o.lastPending)
                .description("Refresh tokens waiting for upstream revocation, as of the last poll")
                .register(registry);
    }

    private static String replicaName() {
        String host = System.getenv("HOSTNAME");
        String random = UUID.randomUUID().toString().substring(0, 8);
        return host == null || host.isBlank() ? "broker-" + random : host + "-" + random;
    }

    /** The stream's key, for tests and operators ({@code XLEN}, {@code XPENDING}). */
    public String streamKey() {
        return streamKey;
    }

    public String consumer() {
        return consumer;
    }

    /**
     * Queues a refresh token whose immediate upstream revocation just failed. With {@code max-attempts} 1 there is
     * no retry: the token is given up on at once.
     *
     * @throws BrokerException.StoreUnavailable when Redis failed; the token is then not queued
     */
    public void enqueue(String clientId, String refreshToken) {
        long now = System.currentTimeMillis();
        if (config.maxAttempts() <= 1) {
            gaveUp(null, clientId, 1, now, "broker.outbox.max-attempts is 1");
            return;
        }
        String id = call(
                "queue revocation",
                () -> redis.stream(String.class)
                        .xadd(
                                streamKey,
                                fields(
                                        clientId,
                                        refreshToken,
                                        1,
                                        now + backoff(1).toMillis(),
                                        now)));
        enqueued.increment();
        LOG.debugf("Queued upstream revocation %s for client %s", id, clientId);
    }

    /**
     * Takes at most {@code batch-size} entries for this replica (protocol steps 2 and 3) and returns those that
     * are due, oldest claim first. Entries that do not decrypt any more (their key left the key ring) are given up
     * on here.
     */
    public List<Entry> claimDue() {
        ensureGroup();
        try {
            List<StreamMessage<String, String, String>> messages = new ArrayList<>();
            ClaimedMessages<String, String, String> reclaimed = call(
                    "reclaim revocations",
                    () -> redis.stream(String.class)
                            .xautoclaim(
                                    streamKey,
                                    GROUP,
                                    consumer,
                                    config.claimIdle(),
                                    autoclaimCursor,
                                    // Half the batch at most: new entries are read however many wait to be retaken.
                                    Math.max(1, config.batchSize() / 2)));
            autoclaimCursor = reclaimed.getId() == null ? "0-0" : reclaimed.getId();
            reclaimed.getMessages().stream()
                    .filter(m -> m != null && m.payload() != null)
                    .forEach(messages::add);
            int room = config.batchSize() - messages.size();
            if (room > 0) {
                messages.addAll(call(
                        "read revocations",
                        () -> redis.stream(String.class)
                                .xreadgroup(GROUP, consumer, streamKey, ">", new XReadGroupArgs().count(room))));
            }
            long now = System.currentTimeMillis();
            List<Entry> due = new ArrayList<>();
            for (StreamMessage<String, String, String> message : messages) {
                Entry entry = read(message);
                if (entry == null) {
                    continue;
                }
                if (entry.dueAt() <= now) {
                    due.add(entry);
                } else {
                    park(entry, now);
                }
            }
            return due;
        } catch (BrokerException.StoreUnavailable e) {
            // The stream or group may be gone (a flushed Redis): create them again on the next poll.
            groupReady = false;
            throw e;
        }
    }

    /** Protocol step 4. @return false when another replica has taken the entry over: skip it */
    public boolean renewClaim(Entry entry) {
        return claimIfMine(entry.id(), 0);
    }

    /** The upstream confirmed the revocation. */
    public void delivered(Entry entry) {
        finish(entry.id());
        delivered.increment();
        LOG.infof(
                "Queued upstream revocation %s for client %s delivered after %d failed attempts",
                entry.id(), entry.clientId(), entry.attempts());
    }

    /** The upstream attempt failed: schedules the next one with backoff, or gives up after {@code max-attempts}. */
    public Retry failed(Entry entry, String reason) {
        int attempts = entry.attempts() + 1;
        if (attempts >= config.maxAttempts()) {
            giveUp(
                    new Entry(
                            entry.id(), entry.clientId(), entry.refreshToken(), attempts, entry.dueAt(), entry.since()),
                    "upstream attempts exhausted, last failure: " + reason);
            return Retry.GAVE_UP;
        }
        long now = System.currentTimeMillis();
        Duration wait = backoff(attempts);
        List<String> args = new ArrayList<>(List.of(GROUP, consumer, entry.id()));
        fields(entry.clientId(), entry.refreshToken(), attempts, now + wait.toMillis(), entry.since())
                .forEach((field, value) -> {
                    args.add(field);
                    args.add(value);
                });
        Response r = call(
                "reschedule revocation",
                () -> RESCHEDULE.runBlocking(redis, List.of(streamKey), args.toArray(String[]::new)));
        if (r == null) {
            LOG.debugf("Queued upstream revocation %s was taken over by another replica", entry.id());
            return Retry.TAKEN_OVER;
        }
        LOG.infof(
                "Upstream revocation for client %s failed %d times (%s); next attempt in %s",
                entry.clientId(), attempts, reason, wait);
        return Retry.RESCHEDULED;
    }

    /** Removes the entry without revoking: a WARN names the client and the reason, never the token. */
    public void giveUp(Entry entry, String reason) {
        finish(entry.id());
        gaveUp(entry.id(), entry.clientId(), entry.attempts(), entry.since(), reason);
    }

    /** Entries waiting (XLEN, O(1)); also what the {@code broker.revocation.outbox.pending} gauge shows next. */
    public long pending() {
        long pending =
                call("count revocations", () -> redis.stream(String.class).xlen(streamKey));
        lastPending = pending;
        return pending;
    }

    /** Wait after {@code failedAttempts} failures: {@code initial-backoff} doubled per further failure, capped. */
    Duration backoff(int failedAttempts) {
        return backoff(config.initialBackoff(), config.maxBackoff(), failedAttempts);
    }

    static Duration backoff(Duration initial, Duration max, int failedAttempts) {
        long cap = max.toMillis();
        long millis = initial.toMillis();
        for (int i = 1; i < failedAttempts && millis < cap; i++) {
            millis *= 2;
        }
        return Duration.ofMillis(Math.min(millis, cap));
    }

    private void park(Entry entry, long now) {
        long idle = Math.max(0, config.claimIdle().toMillis() - (entry.dueAt() - now));
        claimIfMine(entry.id(), idle);
    }

    private boolean claimIfMine(String id, long idleMillis) {
        Response r = call(
                "claim revocation",
                () -> CLAIM_IF_MINE.runBlocking(
                        redis, List.of(streamKey), GROUP, consumer, id, Long.toString(idleMillis)));
        return r != null && r.toLong() == 1;
    }

    private void finish(String id) {
        call("finish revocation", () -> FINISH.runBlocking(redis, List.of(streamKey), GROUP, id));
    }

    private void gaveUp(String id, String clientId, int attempts, long since, String reason) {
        givenUp.increment();
        LOG.warnf(
                "Gave up revoking an upstream refresh token of client %s (outbox entry %s, %d failed attempts "
                        + "since %d): %s. It stays valid upstream until it expires.",
                clientId, id, attempts, since, reason);
    }

    private Map<String, String> fields(String clientId, String refreshToken, int attempts, long due, long since) {
        return Map.of(
                "client",
                clientId,
                "rt",
                keyRing.encrypt(refreshToken, aad(clientId)),
                "attempts",
                Integer.toString(attempts),
                "due",
                Long.toString(due),
                "since",
                Long.toString(since));
    }

    /** Null (and given up on) when the entry is malformed or its envelope does not decrypt. */
    private Entry read(StreamMessage<String, String, String> message) {
        Map<String, String> f = message.payload();
        String clientId = f.get("client");
        try {
            return new Entry(
                    message.id(),
                    clientId,
                    keyRing.decrypt(f.get("rt"), aad(clientId)),
                    Integer.parseInt(f.get("attempts")),
                    Long.parseLong(f.get("due")),
                    Long.parseLong(f.get("since")));
        } catch (IllegalStateException | NumberFormatException | NullPointerException e) {
            finish(message.id());
            gaveUp(
                    message.id(),
                    clientId,
                    0,
                    0,
                    "the stored entry is unreadable (" + e.getClass().getSimpleName() + ")");
            return null;
        }
    }

    /**
     * Binds an envelope to the outbox, its client and the client's upstream, so it does not decrypt in a session, for
     * another entry's client, or once the client has moved to another upstream.
     */
    private String aad(String clientId) {
        return "outbox:rt" + upstreamBinding.apply(clientId) + ":" + clientId;
    }

    private void ensureGroup() {
        if (groupReady) {
            return;
        }
        try {
            // From id 0: entries queued before the group existed are read too.
            redis.stream(String.class).xgroupCreate(streamKey, GROUP, "0", new XGroupCreateArgs().mkstream());
        } catch (RuntimeException e) {
            if (!mentions(e, "BUSYGROUP")) {
                redisErrors.increment();
                throw new BrokerException.StoreUnavailable(
                        "Redis failed to create the outbox group: "
                                + e.getClass().getName(),
                        e);
            }
        }
        groupReady = true;
    }

    private static boolean mentions(Throwable e, String text) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (String.valueOf(t.getMessage()).contains(text)) {
                return true;
            }
        }
        return false;
    }

    private <T> T call(String operation, Supplier<T> redisCall) {
        try {
            return redisCall.get();
        } catch (RuntimeException e) {
            redisErrors.increment();
            throw new BrokerException.StoreUnavailable(
                    "Redis failed to " + operation + ": " + e.getClass().getName(), e);
        }
    }
}
