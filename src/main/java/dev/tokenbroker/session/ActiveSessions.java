package dev.tokenbroker.session;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.redis.RedisCalls;
import dev.tokenbroker.redis.RedisKeys;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.quarkus.redis.datasource.sortedset.ScoreRange;
import io.quarkus.runtime.StartupEvent;

/**
 * The {@code broker.sessions.active} gauge per client, at O(1) per read without SCAN: one sorted set per client at
 * {@link RedisKeys#activeSessions(String)} holds its session ids scored by their absolute deadline (creation plus
 * {@code max-lifetime}). A session joins it when it is created and leaves it when it ends through
 * {@code EndSession}; a read drops the members past their deadline (ZREMRANGEBYSCORE, amortised) and reads ZCARD.
 * A session that idles out without anyone presenting it again is not seen ending, so it stays counted until its
 * absolute deadline: the gauge is an upper bound.
 * <p>
 * A scrape never waits for Redis: the gauge shows what the last read found and starts the next read in the
 * background, so it is one scrape old, and NaN before the first read and after a failed one. (Before, each scrape
 * made two blocking Redis calls per client: with Redis slow or away, a scrape took up to twice the Redis timeout per
 * client, and Prometheus lost every metric of the broker exactly when they mattered.) Updates are best effort too: a
 * Redis failure never fails a token operation, it only counts in {@code broker_redis_errors_total}.
 */
@Singleton
public class ActiveSessions {

    private static final Logger LOG = Logger.getLogger(ActiveSessions.class);

    private final ReactiveRedisDataSource reactive;
    private final RedisKeys keys;
    private final RedisCalls calls;
    private final Clients clients;
    private final BrokerConfig.Session config;
    private final MeterRegistry registry;
    private final Counter redisErrors;
    private final Map<String, Double> lastCounts = new ConcurrentHashMap<>();
    private final Set<String> reading = ConcurrentHashMap.newKeySet();

    ActiveSessions(
            ReactiveRedisDataSource reactive,
            RedisKeys keys,
            RedisCalls calls,
            Clients clients,
            BrokerConfig config,
            MeterRegistry registry) {
        this.reactive = reactive;
        this.keys = keys;
        this.calls = calls;
        this.clients = clients;
        this.config = config.session();
        this.registry = registry;
        this.redisErrors = Counter.builder("broker.redis.errors")
                .description("Failed Redis operations")
                .register(registry);
    }

    void registerGauges(@Observes StartupEvent event) {
        for (String clientId : clients.clientIds()) {
            String name =
                    clients.byClientId(clientId).map(RegisteredClient::name).orElseThrow();
            Gauge.builder("broker.sessions.active", () -> count(clientId))
                    .description(
                            "Sessions not ended, per client (an upper bound: idle sessions count until max-lifetime)")
                    .tag("client", name)
                    .register(registry);
            read(clientId);
        }
    }

    /** Fire and forget: called on the event loop, and a count is not worth a token request's latency. */
    public void created(String clientId, String sessionId) {
        double deadline = System.currentTimeMillis() + config.maxLifetime().toMillis();
        reactive.sortedSet(String.class)
                .zadd(keys.activeSessions(clientId), deadline, sessionId)
                .subscribe()
                .with(added -> {}, e -> {
                    redisErrors.increment();
                    LOG.debugf(
                            "Could not count session %s as active: %s",
                            sessionId, e.getClass().getSimpleName());
                });
    }

    /** Fire and forget, like {@link #created}. */
    public void ended(String clientId, String sessionId) {
        reactive.sortedSet(String.class)
                .zrem(keys.activeSessions(clientId), sessionId)
                .subscribe()
                .with(removed -> {}, e -> {
                    redisErrors.increment();
                    LOG.debugf(
                            "Could not drop session %s from the active count: %s",
                            sessionId, e.getClass().getSimpleName());
                });
    }

    /** What the last read found (NaN: none yet, or it failed); starts the next read unless one is running. */
    double count(String clientId) {
        read(clientId);
        return lastCounts.getOrDefault(clientId, Double.NaN);
    }

    private void read(String clientId) {
        if (!reading.add(clientId)) {
            return;
        }
        String key = keys.activeSessions(clientId);
        calls.guard(
                        "count active sessions",
                        reactive.sortedSet(String.class)
                                .zremrangebyscore(key, new ScoreRange<>(Double.NEGATIVE_INFINITY, (double)
                                        System.currentTimeMillis()))
                                .chain(() -> reactive.sortedSet(String.class).zcard(key)))
                .subscribe()
                .with(
                        n -> {
                            lastCounts.put(clientId, (double) n);
                            reading.remove(clientId);
                        },
                        e -> {
                            lastCounts.put(clientId, Double.NaN);
                            reading.remove(clientId);
                        });
    }
}
