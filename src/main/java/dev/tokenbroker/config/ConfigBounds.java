package dev.tokenbroker.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The lower bounds of the numbers and durations in {@link BrokerConfig}, and the characters the Redis key prefix may
 * not hold, one problem line per value out of bounds.
 * Plain checks rather than Bean Validation: Hibernate Validator cost a fifth to a quarter of the broker's start (0.6–0.8 s
 * of about 2.9 s to readiness on a 2-core machine) for these few comparisons.
 */
final class ConfigBounds {

    private final List<String> problems = new ArrayList<>();

    private ConfigBounds() {}

    /**
     * How long a refresh retries its commit after the upstream answered (the refresh's own constant,
     * {@code RefreshSession.COMMIT_BUDGET}; ConfigBoundsTest keeps the two equal).
     */
    static final Duration REFRESH_COMMIT_RETRIES = Duration.ofSeconds(10);

    /**
     * @param shutdownTimeout {@code quarkus.shutdown.timeout}, how long a stopping broker lets requests finish: it must
     *     cover the longest refresh, an upstream call plus its commit's retries, the last of which may start just
     *     before they end and take {@code quarkus.redis.timeout}; or a stop loses a rotated token
     * @param redisTimeout {@code quarkus.redis.timeout}
     */
    static List<String> problems(BrokerConfig config, Duration shutdownTimeout, Duration redisTimeout) {
        ConfigBounds b = new ConfigBounds();
        for (ConfiguredUpstream configured : ConfiguredUpstream.allOrNone(config)) {
            BrokerConfig.Upstream upstream = configured.settings();
            Duration longestRefresh = upstream.connectTimeout()
                    .plus(upstream.readTimeout())
                    .plus(REFRESH_COMMIT_RETRIES)
                    .plus(redisTimeout);
            if (shutdownTimeout.compareTo(longestRefresh) <= 0) {
                b.problems.add("quarkus.shutdown.timeout must exceed the longest refresh, "
                        + configured.property("connect-timeout") + " + read-timeout + "
                        + text(REFRESH_COMMIT_RETRIES) + " of commit retries + quarkus.redis.timeout = "
                        + text(longestRefresh) + " (is " + text(shutdownTimeout) + ")");
            }
            b.atLeast(configured.property("connect-timeout"), upstream.connectTimeout(), Duration.ofMillis(1));
            b.atLeast(configured.property("read-timeout"), upstream.readTimeout(), Duration.ofMillis(1));
            b.atLeast(configured.property("connection-pool-size"), upstream.connectionPoolSize(), 1);
            b.atLeast(configured.property("tls-reload-interval"), upstream.tlsReloadInterval(), Duration.ZERO);
        }

        BrokerConfig.Dpop dpop = config.dpop();
        b.atLeast("broker.dpop.max-age", dpop.maxAge(), Duration.ofSeconds(1));
        b.atLeast("broker.dpop.clock-skew", dpop.clockSkew(), Duration.ZERO);

        BrokerConfig.Web web = config.web();
        b.atLeast("broker.web.transaction-lifetime", web.transactionLifetime(), Duration.ofSeconds(10));
        b.atLeast(
                "broker.web.authorization-requests.per-address",
                web.authorizationRequests().perAddress(),
                0);
        b.atLeast(
                "broker.web.authorization-requests.per-client",
                web.authorizationRequests().perClient(),
                0);
        b.atLeast(
                "broker.web.authorization-requests.period",
                web.authorizationRequests().period(),
                Duration.ofSeconds(1));
        b.atLeast("broker.web.refresh-margin", web.refreshMargin(), Duration.ZERO);

        BrokerConfig.RateLimit rateLimit = config.rateLimit();
        b.limit("broker.rate-limit.per-address", rateLimit.perAddress());
        b.atLeast("broker.rate-limit.failed-exchange-cost", rateLimit.failedExchangeCost(), 1);
        for (Map.Entry<String, BrokerConfig.Client> client : config.clients().entrySet()) {
            b.limit(
                    "broker.clients." + client.getKey() + ".rate-limit",
                    client.getValue().rateLimit());
        }

        BrokerConfig.Session session = config.session();
        if (session.keyPrefix().contains("{") || session.keyPrefix().contains("}")) {
            b.problems.add("broker.session.key-prefix must not contain '{' or '}': Redis Cluster would hash every key"
                    + " by the prefix's braces instead of its id's (is '" + session.keyPrefix() + "')");
        }
        b.atLeast("broker.session.max-lifetime", session.maxLifetime(), Duration.ofSeconds(1));
        b.atLeast("broker.session.idle-timeout", session.idleTimeout(), Duration.ofSeconds(1));
        b.atLeast("broker.session.rotation-grace", session.rotationGrace(), Duration.ZERO);
        b.atLeast("broker.session.refresh-reuse-window", session.refreshReuseWindow(), Duration.ZERO);
        b.atLeast("broker.session.min-replicas-acked", session.minReplicasAcked(), 0);
        b.atLeast("broker.session.replication-timeout", session.replicationTimeout(), Duration.ofMillis(1));

        BrokerConfig.Outbox outbox = config.outbox();
        b.atLeast("broker.outbox.poll-interval", outbox.pollInterval(), Duration.ofMillis(10));
        b.atLeast("broker.outbox.initial-backoff", outbox.initialBackoff(), Duration.ofMillis(1));
        b.atLeast("broker.outbox.max-backoff", outbox.maxBackoff(), Duration.ofMillis(1));
        b.atLeast("broker.outbox.max-attempts", outbox.maxAttempts(), 1);
        b.atLeast("broker.outbox.batch-size", outbox.batchSize(), 1);
        b.atLeast("broker.outbox.claim-idle", outbox.claimIdle(), Duration.ofMillis(1));

        BrokerConfig.BackchannelLogout logout = config.backchannelLogout();
        b.atLeast("broker.backchannel-logout.max-age", logout.maxAge(), Duration.ofSeconds(1));
        b.atLeast("broker.backchannel-logout.clock-skew", logout.clockSkew(), Duration.ZERO);
        b.atLeast(
                "broker.backchannel-logout.jwks-refetch-interval", logout.jwksRefetchInterval(), Duration.ofMinutes(1));
        b.atLeast("broker.backchannel-logout.max-concurrent", logout.maxConcurrent(), 1);
        return List.copyOf(b.problems);
    }

    private void limit(String property, BrokerConfig.Limit limit) {
        OptionalInt requests = limit.requests();
        if (requests.isPresent()) {
            atLeast(property + ".requests", requests.getAsInt(), 1);
        }
        atLeast(property + ".period", limit.period(), Duration.ofMillis(1));
    }

    private void atLeast(String property, int value, int min) {
        if (value < min) {
            problems.add(property + " must be at least " + min + " (is " + value + ")");
        }
    }

    private void atLeast(String property, Duration value, Duration min) {
        if (value.compareTo(min) < 0) {
            problems.add(property + " must be at least " + text(min) + " (is " + text(value) + ")");
        }
    }

    /** As configuration spells durations: {@code 10s}, {@code 1m}, {@code 500ms}. */
    private static String text(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        long ms = d.toMillis();
        if (Duration.ofMillis(ms).compareTo(d) != 0) {
            return d.toString();
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }
}
