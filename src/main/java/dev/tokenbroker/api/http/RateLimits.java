package dev.tokenbroker.api.http;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.config.TrustedProxies;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.redis.RateBuckets;
import dev.tokenbroker.redis.RateBuckets.Bucket;
import dev.tokenbroker.redis.RedisKeys;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpServerRequest;

/**
 * The rate limits of {@code /oauth2/token} and {@code /oauth2/revoke}: per client (all addresses together) and per
 * source address (per client), as configured, checked in one Redis round trip before any other work. A client
 * without limits costs nothing: no Redis call, not even the address lookup. Requests that store an authorization
 * transaction are bounded as well by default ({@link #admitAuthorizationRequest}).
 */
@Singleton
public class RateLimits {

    private static final Logger LOG = Logger.getLogger(RateLimits.class);

    /** What a request was admitted under; a failed code exchange charges them again. */
    public static final class Admission {
        private static final Admission UNLIMITED = new Admission(List.of());
        private static final Uni<Admission> UNLIMITED_ITEM = Uni.createFrom().item(UNLIMITED);

        private final List<Bucket> buckets;

        private Admission(List<Bucket> buckets) {
            this.buckets = buckets;
        }
    }

    private final BrokerConfig.AuthorizationRequests authorizationRequests;
    private final Map<String, BrokerConfig.Limit> byClient;
    private final BrokerConfig.Limit perAddress;
    private final int failedExchangeCost;
    private final TrustedProxies proxies;
    private final RateBuckets store;
    private final RedisKeys keys;
    private final MeterRegistry registry;
    private final Map<String, Counter> refusals = new ConcurrentHashMap<>();

    RateLimits(BrokerConfig config, TrustedProxies proxies, RateBuckets store, RedisKeys keys, MeterRegistry registry) {
        this.byClient = new HashMap<>();
        config.clients().forEach((name, c) -> byClient.put(name, c.rateLimit()));
        this.perAddress = config.rateLimit().perAddress();
        this.failedExchangeCost = config.rateLimit().failedExchangeCost();
        this.authorizationRequests = config.web().authorizationRequests();
        this.proxies = proxies;
        this.store = store;
        this.keys = keys;
        this.registry = registry;
        // Registered up front, so that dashboards see 0 rather than nothing.
        byClient.forEach((name, limit) -> {
            if (limit.requests().isPresent()) {
                refusals(name, "client");
            }
            if (perAddress.requests().isPresent()) {
                refusals(name, "address");
            }
            if (authorizationRequests.perClient() > 0) {
                refusals(name, "login");
            }
            if (authorizationRequests.perAddress() > 0) {
                refusals(name, "login_address");
            }
        });
    }

    /**
     * For a request that stores an authorization transaction ({@code /bff/login}, {@code /oauth2/authorization-request}):
     * the bounds of {@code broker.web.authorization-requests}, per address and per client, and the client's own limits
     * as for any request, in one round trip.
     */
    public Uni<Void> admitAuthorizationRequest(RegisteredClient client, HttpServerRequest http) {
        List<Bucket> buckets = new ArrayList<>(4);
        Duration period = authorizationRequests.period();
        if (authorizationRequests.perClient() > 0) {
            buckets.add(new Bucket(
                    "login", keys.rateBucket(client.name(), "login", null), authorizationRequests.perClient(), period));
        }
        if (authorizationRequests.perAddress() > 0) {
            buckets.add(new Bucket(
                    "login_address",
                    keys.rateBucket(client.name(), "login_address", sourceAddress(http)),
                    authorizationRequests.perAddress(),
                    period));
        }
        buckets.addAll(clientBuckets(client, http));
        if (buckets.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        return store.take(buckets, 1)
                .invoke(decision -> refuseUnless(client, decision))
                .replaceWithVoid();
    }

    /** Takes one request from the client's buckets; fails with {@link BrokerException.RateLimited} when one is empty. */
    public Uni<Admission> admit(RegisteredClient client, HttpServerRequest http) {
        List<Bucket> buckets = clientBuckets(client, http);
        if (buckets.isEmpty()) {
            return Admission.UNLIMITED_ITEM;
        }
        return store.take(buckets, 1).map(decision -> {
            refuseUnless(client, decision);
            return new Admission(buckets);
        });
    }

    /** The client's own limit and the per-address limit, as configured; no address lookup when neither is. */
    private List<Bucket> clientBuckets(RegisteredClient client, HttpServerRequest http) {
        BrokerConfig.Limit clientLimit = byClient.get(client.name());
        boolean limitClient = clientLimit != null && clientLimit.requests().isPresent();
        boolean limitAddress = perAddress.requests().isPresent();
        if (!limitClient && !limitAddress) {
            return List.of();
        }
        List<Bucket> buckets = new ArrayList<>(2);
        if (limitClient) {
            buckets.add(new Bucket(
                    "client",
                    keys.rateBucket(client.name(), "client", null),
                    clientLimit.requests().getAsInt(),
                    clientLimit.period()));
        }
        if (limitAddress) {
            buckets.add(new Bucket(
                    "address",
                    keys.rateBucket(client.name(), "address", sourceAddress(http)),
                    perAddress.requests().getAsInt(),
                    perAddress.period()));
        }
        return buckets;
    }

    private String sourceAddress(HttpServerRequest http) {
        return proxies.sourceAddress(
                http.remoteAddress() == null ? null : http.remoteAddress().hostAddress(),
                http.headers().getAll("X-Forwarded-For"));
    }

    private void refuseUnless(RegisteredClient client, RateBuckets.Decision decision) {
        if (!decision.admitted()) {
            String kind = decision.refusedBy().kind();
            refusals(client.name(), kind).increment();
            throw new BrokerException.RateLimited(kind, decision.retryAfterMillis());
        }
    }

    /**
     * Charges a code exchange that ended in {@code invalid_grant} the rest of {@code failed-exchange-cost}. Best
     * effort: the caller's answer does not depend on it.
     */
    public Uni<Void> failedExchange(Admission admission) {
        if (admission.buckets.isEmpty() || failedExchangeCost <= 1) {
            return Uni.createFrom().voidItem();
        }
        return store.charge(admission.buckets, failedExchangeCost - 1)
                .onFailure()
                .recoverWithItem(e -> {
                    LOG.debugf(
                            "Could not charge a failed code exchange: %s",
                            e.getClass().getSimpleName());
                    return null;
                });
    }

    private Counter refusals(String client, String kind) {
        return refusals.computeIfAbsent(
                client + " " + kind,
                k -> Counter.builder("broker.rate.limited")
                        .description("Requests refused with 429 by a rate limit, by client and limit (client, address,"
                                + " login, login_address)")
                        .tag("client", client)
                        .tag("kind", kind)
                        .register(registry));
    }
}
