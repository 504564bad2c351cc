package dev.tokenbroker.session;

import java.time.Duration;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.error.BrokerException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.smallrye.mutiny.Uni;

/** One-time identifiers (DPoP proof {@code jti}s) seen by any replica, remembered while they could still be replayed. */
@Singleton
public class ReplayCache {

    private final ReactiveRedisDataSource redis;
    private final Duration redisTimeout;
    private final RedisKeys keys;
    private final Counter redisErrors;

    ReplayCache(
            ReactiveRedisDataSource redis,
            RedisKeys keys,
            MeterRegistry registry,
            @ConfigProperty(name = "quarkus.redis.timeout", defaultValue = "10s") Duration redisTimeout) {
        this.redis = redis;
        this.redisTimeout = redisTimeout;
        this.keys = keys;
        this.redisErrors = Counter.builder("broker.redis.errors")
                .description("Failed Redis operations")
                .register(registry);
    }

    /**
     * @param scope whose identifier it is (a DPoP key thumbprint), so one key cannot burn another's identifiers
     * @return true the first time this identifier is seen within {@code remember}
     */
    public Uni<Boolean> firstUse(String scope, String id, Duration remember) {
        return setOnce(keys.dpopProof(Handles.digest(scope + " " + id)), remember, "record a DPoP proof");
    }

    /**
     * A back-channel logout token's {@code jti} (OIDC Back-Channel Logout 1.0 §2.6), per issuer. Blocking: logout
     * runs on worker threads.
     *
     * @return true the first time this identifier is seen within {@code remember}
     */
    public boolean firstUseOfLogoutToken(String issuer, String jti, Duration remember) {
        return setOnce(keys.logoutToken(Handles.digest(issuer + " " + jti)), remember, "record a logout token")
                .await()
                .indefinitely();
    }

    /**
     * Forgets a logout token whose processing failed, so that the upstream's retry of it is not refused as a replay.
     * Best effort: when Redis is down the mark stays until it expires.
     */
    public void forgetLogoutToken(String issuer, String jti) {
        redis.key(String.class)
                .del(keys.logoutToken(Handles.digest(issuer + " " + jti)))
                .ifNoItem()
                .after(redisTimeout)
                .fail()
                .onFailure()
                .recoverWithItem(e -> {
                    redisErrors.increment();
                    return 0;
                })
                .await()
                .indefinitely();
    }

    /** SET NX PX: true if the key was not there. */
    private Uni<Boolean> setOnce(String key, Duration remember, String operation) {
        return redis.execute("SET", key, "1", "NX", "PX", Long.toString(remember.toMillis()))
                .ifNoItem()
                .after(redisTimeout)
                .fail()
                .map(r -> r != null && "OK".equals(r.toString()))
                .onFailure()
                .transform(e -> {
                    redisErrors.increment();
                    return new BrokerException.StoreUnavailable(
                            "Redis failed to " + operation + ": " + e.getClass().getName(), e);
                });
    }
}
