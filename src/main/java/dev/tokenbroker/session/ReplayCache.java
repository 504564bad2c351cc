package dev.tokenbroker.session;

import java.time.Duration;

import jakarta.inject.Singleton;

import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.error.BrokerException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.redis.datasource.RedisDataSource;
import io.vertx.mutiny.redis.client.Response;

/** One-time identifiers (DPoP proof {@code jti}s) seen by any replica, remembered while they could still be replayed. */
@Singleton
public class ReplayCache {

    private final RedisDataSource redis;
    private final RedisKeys keys;
    private final Counter redisErrors;

    ReplayCache(RedisDataSource redis, RedisKeys keys, MeterRegistry registry) {
        this.redis = redis;
        this.keys = keys;
        this.redisErrors = Counter.builder("broker.redis.errors").description("Failed Redis operations")
                .register(registry);
    }

    /**
     * @param scope whose identifier it is (a DPoP key thumbprint), so one key cannot burn another's identifiers
     * @return true the first time this identifier is seen within {@code remember}
     */
    public boolean firstUse(String scope, String id, Duration remember) {
        String key = keys.dpopProof(Handles.digest(scope + " " + id));
        try {
            Response r = redis.execute("SET", key, "1", "NX", "PX", Long.toString(remember.toMillis()));
            return r != null && "OK".equals(r.toString());
        } catch (RuntimeException e) {
            redisErrors.increment();
            throw new BrokerException.StoreUnavailable("Redis failed to record a DPoP proof: " + e.getClass().getName(), e);
        }
    }
}
