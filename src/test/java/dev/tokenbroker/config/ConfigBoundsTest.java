package dev.tokenbroker.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.token.RefreshSession;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The bounds of numbers and durations, checked on a configuration mapped as the broker maps it. */
class ConfigBoundsTest {

    private static List<String> problems(Map<String, String> properties) {
        BrokerConfig config = MappedConfig.of(properties);
        return ConfigBounds.problems(config, SHUTDOWN_TIMEOUT, REDIS_TIMEOUT);
    }

    /** As application.properties sets them. */
    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(30);

    private static final Duration REDIS_TIMEOUT = Duration.ofSeconds(3);

    @Test
    void theShutdownTimeoutCoversTheLongestRefresh() {
        assertEquals(RefreshSession.COMMIT_BUDGET, ConfigBounds.REFRESH_COMMIT_RETRIES);
        assertEquals(
                List.of("quarkus.shutdown.timeout must exceed the longest refresh, broker.upstream.connect-timeout"
                        + " + read-timeout + 10s of commit retries + quarkus.redis.timeout = 30s (is 30s)"),
                problems(Map.of("broker.upstream.read-timeout", "14s")));
    }

    @Test
    void theDefaultsAreWithinBounds() {
        assertEquals(List.of(), problems(Map.of()));
    }

    @Test
    void everyValueBelowItsBoundIsOneLineNamingThePropertyTheBoundAndTheValue() {
        assertEquals(
                List.of(
                        "broker.upstream.connection-pool-size must be at least 1 (is 0)",
                        "broker.web.transaction-lifetime must be at least 10s (is 9s)",
                        "broker.rate-limit.per-address.period must be at least 1ms (is 0s)",
                        "broker.clients.clover.rate-limit.requests must be at least 1 (is 0)",
                        "broker.session.idle-timeout must be at least 1s (is 500ms)",
                        "broker.session.min-replicas-acked must be at least 0 (is -1)",
                        "broker.outbox.batch-size must be at least 1 (is 0)",
                        "broker.backchannel-logout.jwks-refetch-interval must be at least 1m (is 30s)"),
                problems(Map.of(
                        "broker.upstream.connection-pool-size", "0",
                        "broker.web.transaction-lifetime", "9s",
                        "broker.rate-limit.per-address.period", "0s",
                        "broker.clients.clover.rate-limit.requests", "0",
                        "broker.session.idle-timeout", "500ms",
                        "broker.session.min-replicas-acked", "-1",
                        "broker.outbox.batch-size", "0",
                        "broker.backchannel-logout.jwks-refetch-interval", "30s")));
    }

    @Test
    void aKeyPrefixWithBracesIsRefusedSinceRedisClusterWouldHashByThem() {
        assertEquals(
                List.of("broker.session.key-prefix must not contain '{' or '}': Redis Cluster would hash every key by"
                        + " the prefix's braces instead of its id's (is 'tb{x}:')"),
                problems(Map.of("broker.session.key-prefix", "tb{x}:")));
        assertEquals(List.of(), problems(Map.of("broker.session.key-prefix", "prod:broker:")));
    }

    @Test
    void valuesAtTheirBoundPass() {
        assertEquals(
                List.of(),
                problems(Map.of(
                        "broker.upstream.connection-pool-size", "1",
                        "broker.web.transaction-lifetime", "10s",
                        "broker.session.idle-timeout", "1s",
                        "broker.session.rotation-grace", "0s",
                        "broker.clients.clover.rate-limit.requests", "1",
                        "broker.backchannel-logout.jwks-refetch-interval", "1m")));
    }
}
