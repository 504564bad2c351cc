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

    /**
     * A back-channel logout token's {@code jti} (OIDC Back-Channel Logout 1.0 §2.6), per issuer.
     *
     * @return true the first time this identifier is seen within {@code remember}
     */
    public boolean firstUseOfLogoutToken(String issuer, String jti, Duration remember) {
        String key = keys.logoutToken(Handles.digest(issuer + " " + jti));
        try {
            Response r = redis.execute("SET", key, "1", "NX", "PX", Long.toString(remember.toMillis()));
            return r != null && "OK".equals(r.toString());
        } catch (RuntimeException e) {
            redisErrors.increment();
            throw new BrokerException.StoreUnavailable("Redis failed to record a logout token: " + e.getClass().getName(), e);
        }
    }

    /**
     * Forgets a logout token whose processing failed, so that the upstream's retry of it is not refused as a replay.
     * Best effort: when Redis is down the mark stays until it expires.
     */
    public void forgetLogoutToken(String issuer, String jti) {
        try {
            redis.key(String.class).del(keys.logoutToken(Handles.digest(issuer + " " + jti)));
        } catch (RuntimeException e) {
            redisErrors.increment();
        }
    }
}
