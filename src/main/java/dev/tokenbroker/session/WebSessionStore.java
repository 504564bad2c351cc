package dev.tokenbroker.session;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.inject.Singleton;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.redis.LuaScript;
import dev.tokenbroker.redis.RedisCalls;
import dev.tokenbroker.redis.RedisKeys;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.smallrye.mutiny.Uni;

/**
 * What a web-mode session keeps beside its {@link SessionStore} session: one {@link KeyRing} envelope at
 * {@link RedisKeys#webSession}, living as long as a session can. The {@link SessionStore} scripts that end a session
 * delete it in the same step (it shares the session's slot), so back-channel logout, the admin API and reuse detection
 * end web sessions too.
 */
@Singleton
public class WebSessionStore {

    /**
     * A web session. {@link #toString()} is redacted.
     *
     * @param secretHash      hash of the secret of the handle the browser's cookie holds now
     * @param claims          the user claims {@code /bff/user} shows, from the verified ID token
     * @param accessExpiresAt epoch millis at which {@link #accessToken} expires (0: unknown, refresh every time)
     */
    public record WebSession(
            String clientId,
            String secretHash,
            String idToken,
            Map<String, Object> claims,
            String accessToken,
            String tokenType,
            long accessExpiresAt,
            String scope) {
        /** Read-only: {@link #get} may hand the same record to many calls. */
        public WebSession {
            claims = claims == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(claims));
        }

        @Override
        public String toString() {
            return "WebSession[client=" + clientId + "]";
        }
    }

    private final ReactiveRedisDataSource redis;
    private final RedisKeys keys;
    private final KeyRing keyRing;
    private final ObjectMapper json;
    private final Duration lifetime;
    private final RedisCalls calls;

    /**
     * Envelopes decoded lately, by session: a page's API calls through the proxy read the same record many times
     * between two refreshes, and its AES-GCM decryption and JSON parsing were a tenth of the broker's CPU per proxied
     * call. A memo of a pure function of the envelope (authenticated, bound to its key), so it can never answer
     * anything Redis does not hold now; an entry goes when Redis no longer has its record. Bounded by count: emptied
     * when full (records of ~10 KB with ID and access tokens: ~10 MB at most).
     */
    private record Decoded(String envelope, WebSession session) {}

    private static final int DECODED_MAX = 1024;
    private final Map<String, Decoded> decoded = new ConcurrentHashMap<>();

    WebSessionStore(
            ReactiveRedisDataSource redis,
            RedisKeys keys,
            KeyRing keyRing,
            ObjectMapper json,
            BrokerConfig config,
            RedisCalls calls) {
        this.redis = redis;
        this.keys = keys;
        this.keyRing = keyRing;
        this.json = json;
        this.lifetime = config.session().maxLifetime();
        this.calls = calls;
    }

    /** {@code redis/web-session-put.lua} */
    private static final LuaScript PUT = LuaScript.named("web-session-put");

    /**
     * Writes the record for {@code max-lifetime} (the session's own deadlines end it sooner), unless the session has
     * ended: then nothing is written, and the browser's next call finds no web session.
     */
    public Uni<Void> put(String sessionId, WebSession session) {
        String key = keys.webSession(sessionId);
        String envelope;
        try {
            envelope = keyRing.encrypt(json.writeValueAsString(session), key);
        } catch (JsonProcessingException e) {
            return Uni.createFrom().failure(new IllegalStateException("cannot serialise a web session", e));
        }
        return calls.guard(
                        "store a web session",
                        PUT.run(
                                redis,
                                List.of(keys.session(sessionId), key),
                                envelope,
                                Long.toString(lifetime.toMillis())))
                .replaceWithVoid();
    }

    /**
     * The record as Redis holds it now: every call reads Redis (an ended session is gone at once, on every replica);
     * only the decryption and parsing of an envelope already seen on this replica are skipped.
     */
    public Uni<Optional<WebSession>> get(String sessionId) {
        String key = keys.webSession(sessionId);
        return calls.guard("read a web session", redis.value(String.class).get(key))
                .map(envelope -> {
                    if (envelope == null) {
                        decoded.remove(sessionId);
                        return Optional.<WebSession>empty();
                    }
                    Decoded seen = decoded.get(sessionId);
                    if (seen != null && seen.envelope.equals(envelope)) {
                        return Optional.of(seen.session);
                    }
                    try {
                        WebSession session = json.readValue(keyRing.decrypt(envelope, key), WebSession.class);
                        remember(sessionId, new Decoded(envelope, session));
                        return Optional.of(session);
                    } catch (JsonProcessingException | IllegalStateException e) {
                        return Optional.<WebSession>empty();
                    }
                });
    }

    private void remember(String sessionId, Decoded entry) {
        if (decoded.size() >= DECODED_MAX) {
            decoded.clear();
        }
        decoded.put(sessionId, entry);
    }
}
