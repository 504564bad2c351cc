package dev.tokenbroker.support;

import java.util.Map;

import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.redis.RedisKeys;
import io.quarkus.redis.datasource.RedisDataSource;

/** What Redis holds for a handle's session, read with the broker's own key names. */
public final class StoredSessions {

    public static final RedisKeys KEYS = new RedisKeys("tb:");

    private StoredSessions() {}

    public static String id(String handle) {
        return Handles.parse(handle)
                .orElseThrow(() -> new AssertionError("not a handle"))
                .sessionId();
    }

    public static String key(String handle) {
        return KEYS.session(id(handle));
    }

    /** The session's hash; empty when there is none. */
    public static Map<String, String> of(RedisDataSource redis, String handle) {
        return redis.hash(String.class).hgetall(key(handle));
    }

    /** The upstream refresh token the session holds, decrypted as the broker does. */
    public static String upstreamRefreshToken(RedisDataSource redis, KeyRing keyRing, String handle) {
        return keyRing.decrypt(of(redis, handle).get("rt"), "session:" + id(handle) + ":rt");
    }

    /** Whether a refresh of the session holds its lock now. */
    public static boolean locked(RedisDataSource redis, String handle) {
        return of(redis, handle).containsKey("lock");
    }
}
