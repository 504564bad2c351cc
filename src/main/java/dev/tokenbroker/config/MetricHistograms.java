package dev.tokenbroker.config;

import java.time.Duration;
import java.util.Arrays;
import java.util.Map;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;

/**
 * Bucket boundaries for the broker's timers, so that Prometheus' {@code histogram_quantile} gives their percentiles
 * ({@code <name>_seconds_bucket{le="…"}}). Fixed boundaries chosen for this service's range, not Micrometer's
 * percentile histogram (its dozens of buckets per series would multiply every label combination's series).
 */
@Singleton
public class MetricHistograms {

    /** Token operations and upstream calls: a Redis round trip (~1 ms) up to the longest upstream timeout. */
    static final Duration[] REQUESTS = millis(1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000);

    /** One Redis command or script: sub-millisecond when healthy, seconds when failing over. */
    static final Duration[] REDIS = millis(0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000, 5000);

    static final Map<String, Duration[]> BUCKETS = Map.of(
            "broker.token.operations", REQUESTS,
            "broker.upstream.requests", REQUESTS,
            "broker.redis.operations", REDIS);

    @Produces
    @Singleton
    MeterFilter buckets() {
        return new MeterFilter() {
            @Override
            public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                Duration[] buckets = BUCKETS.get(id.getName());
                if (buckets == null) {
                    return config;
                }
                double[] nanos =
                        Arrays.stream(buckets).mapToDouble(Duration::toNanos).toArray();
                return DistributionStatisticConfig.builder()
                        .serviceLevelObjectives(nanos)
                        .build()
                        .merge(config);
            }
        };
    }

    private static Duration[] millis(double... values) {
        return Arrays.stream(values)
                .mapToObj(ms -> Duration.ofNanos(Math.round(ms * 1_000_000)))
                .toArray(Duration[]::new);
    }
}
