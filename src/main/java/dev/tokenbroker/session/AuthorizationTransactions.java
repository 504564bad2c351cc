package dev.tokenbroker.session;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import jakarta.inject.Singleton;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.redis.LuaScript;
import dev.tokenbroker.redis.RedisCalls;
import dev.tokenbroker.redis.RedisKeys;
import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.smallrye.mutiny.Uni;

/**
 * Authorization requests the broker started, shared by every replica: one key per {@code state}
 * ({@link RedisKeys#authorizationTransaction}), holding a {@link KeyRing} envelope of the transaction, living
 * {@code broker.web.transaction-lifetime}, and read at most once: a script reads and deletes it in one step, so a
 * replayed {@code state} finds nothing, on any replica.
 */
@Singleton
public class AuthorizationTransactions {

    /** {@code redis/transaction-take.lua} */
    private static final LuaScript TAKE = LuaScript.named("transaction-take");

    /**
     * One authorization request. {@link #toString()} is redacted.
     *
     * @param clientId     whose request it is
     * @param redirectUri  the redirect URI it named, which the code exchange must repeat
     * @param returnTo     web mode: where the browser goes after the callback; null for native apps
     * @param appChallenge {@code pkce=broker}: the S256 challenge of the app's own verifier, which the app must show at
     *     the code exchange (the {@code state} travels in the redirect and proves nothing); null in web mode
     * @param replaces     web mode: the handle in the session cookie of the browser that started the login, whose
     *     session the new one replaces; null when it had none (and for native apps)
     */
    public record Transaction(
            String clientId,
            String state,
            String nonce,
            String codeVerifier,
            String redirectUri,
            String returnTo,
            String appChallenge,
            String replaces) {
        @Override
        public String toString() {
            return "Transaction[client=" + clientId + "]";
        }
    }

    private final ReactiveRedisDataSource redis;
    private final RedisKeys keys;
    private final KeyRing keyRing;
    private final ObjectMapper json;
    private final RedisCalls calls;

    AuthorizationTransactions(
            ReactiveRedisDataSource redis, RedisKeys keys, KeyRing keyRing, ObjectMapper json, RedisCalls calls) {
        this.redis = redis;
        this.keys = keys;
        this.keyRing = keyRing;
        this.json = json;
        this.calls = calls;
    }

    public Uni<Void> put(Transaction transaction, Duration lifetime) {
        String key = key(transaction.state());
        String envelope;
        try {
            envelope = keyRing.encrypt(json.writeValueAsString(transaction), key);
        } catch (JsonProcessingException e) {
            return Uni.createFrom().failure(new IllegalStateException("cannot serialise a transaction", e));
        }
        return calls.guard(
                        "store an authorization transaction",
                        redis.execute("SET", key, envelope, "NX", "PX", Long.toString(lifetime.toMillis())))
                .replaceWithVoid();
    }

    /** The transaction of this {@code state}, deleted; empty when unknown, expired or already taken. */
    public Uni<Optional<Transaction>> take(String state) {
        String key = key(state);
        return calls.guard("take an authorization transaction", TAKE.run(redis, List.of(key)))
                .map(r -> read(key, r == null ? null : r.toString()));
    }

    /**
     * The transaction of this {@code state}, left in place: for checks that whoever merely knows the {@code state}
     * must not be able to fail on the owner's behalf, by consuming it.
     */
    public Uni<Optional<Transaction>> peek(String state) {
        String key = key(state);
        return calls.guard(
                        "read an authorization transaction",
                        redis.value(String.class).get(key))
                .map(envelope -> read(key, envelope));
    }

    private Optional<Transaction> read(String key, String envelope) {
        if (envelope == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(json.readValue(keyRing.decrypt(envelope, key), Transaction.class));
        } catch (JsonProcessingException | IllegalStateException e) {
            // Written by a key no longer in the ring, or not by us: as good as unknown.
            return Optional.empty();
        }
    }

    private String key(String state) {
        return keys.authorizationTransaction(Handles.digest(state));
    }
}
