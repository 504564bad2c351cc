package dev.tokenbroker.redis;

import java.time.Duration;
import java.util.Optional;

import jakarta.inject.Singleton;

import dev.tokenbroker.crypto.Handles;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.smallrye.mutiny.Uni;

/**
 * One-time identifiers (DPoP proof {@code jti}s, logout tokens, authorization codes) seen by any replica, remembered
 * while they could still be replayed.
 */
@Singleton
public class ReplayCache {

    private final ReactiveRedisDataSource redis;
    private final RedisKeys keys;
    private final RedisCalls calls;

    ReplayCache(ReactiveRedisDataSource redis, RedisKeys keys, RedisCalls calls) {
        this.redis = redis;
        this.keys = keys;
        this.calls = calls;
    }

    /**
     * @param scope whose identifier it is (a DPoP key thumbprint), so one key cannot burn another's identifiers
     * @return true the first time this identifier is seen within {@code remember}
     */
    public Uni<Boolean> firstUse(String scope, String id, Duration remember) {
        return setOnce(keys.dpopProof(Handles.digest(scope + " " + id)), remember, "record a DPoP proof");
    }

    /**
     * A back-channel logout token's {@code jti} (OIDC Back-Channel Logout 1.0 §2.6), per issuer.
     *
     * @return true the first time this identifier is seen within {@code remember}
     */
    public Uni<Boolean> firstUseOfLogoutToken(String issuer, String jti, Duration remember) {
        return setOnce(keys.logoutToken(Handles.digest(issuer + " " + jti)), remember, "record a logout token");
    }

    /**
     * Forgets a logout token whose processing failed, so that the upstream's retry of it is not refused as a replay.
     * Best effort: when Redis is down the mark stays until it expires.
     */
    public Uni<Void> forgetLogoutToken(String issuer, String jti) {
        return calls.guard(
                        "forget a logout token",
                        redis.key(String.class).del(keys.logoutToken(Handles.digest(issuer + " " + jti))))
                .onFailure()
                .recoverWithItem(0)
                .replaceWithVoid();
    }

    /**
     * Remembers which session the exchange of this code (with this verifier) opened. Only the digest is stored: the
     * code and verifier cannot be read back.
     */
    public Uni<Void> rememberRedemption(
            String clientId, String code, String verifier, String sessionId, Duration remember) {
        return calls.guard(
                        "record a redeemed code",
                        redis.execute(
                                "SET",
                                keys.redeemedCode(redemption(clientId, code, verifier)),
                                sessionId,
                                "PX",
                                Long.toString(remember.toMillis())))
                .replaceWithVoid();
    }

    /** The session an earlier exchange of this code with this verifier opened, if it is still remembered. */
    public Uni<Optional<String>> redeemedBefore(String clientId, String code, String verifier) {
        return calls.guard(
                        "look up a redeemed code",
                        redis.execute("GET", keys.redeemedCode(redemption(clientId, code, verifier))))
                .map(r -> Optional.ofNullable(r).map(Object::toString));
    }

    private static String redemption(String clientId, String code, String verifier) {
        return Handles.digest(clientId + " " + code + " " + (verifier == null ? "" : verifier));
    }

    /** SET NX PX: true if the key was not there. */
    private Uni<Boolean> setOnce(String key, Duration remember, String operation) {
        return calls.guard(operation, redis.execute("SET", key, "1", "NX", "PX", Long.toString(remember.toMillis())))
                .map(r -> r != null && "OK".equals(r.toString()));
    }
}
