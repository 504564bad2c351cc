package dev.tokenbroker.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import jakarta.inject.Singleton;

import io.quarkus.redis.datasource.ReactiveRedisDataSource;
import io.smallrye.mutiny.Uni;

/**
 * Rate-limit buckets in Redis, shared by all replicas: GCRA, a token bucket kept as one timestamp per bucket (the
 * theoretical arrival time, TAT). A bucket of {@code n} requests per {@code period} admits a request while
 * {@code TAT + cost × period/n − now ≤ period}, i.e. up to {@code n} at once, refilled at {@code n} per period. Time is
 * Redis' clock, so replicas with skewed clocks agree. One script checks and updates all buckets of a request in one
 * round trip, all or nothing.
 */
@Singleton
public class RateBuckets {

    /** {@code redis/rate-gcra.lua} */
    private static final LuaScript GCRA = LuaScript.named("rate-gcra");

    /**
     * One bucket.
     *
     * @param kind     what it limits, as metrics and logs name it
     * @param key      from {@link RedisKeys#rateBucket}
     * @param requests burst size and requests per period
     */
    public record Bucket(String kind, String key, int requests, Duration period) {}

    /** What {@link #take} decided: {@code refusedBy} is null when the request may go ahead. */
    public record Decision(Bucket refusedBy, long retryAfterMillis) {
        public boolean admitted() {
            return refusedBy == null;
        }
    }

    private final ReactiveRedisDataSource redis;
    private final RedisCalls calls;

    RateBuckets(ReactiveRedisDataSource redis, RedisCalls calls) {
        this.redis = redis;
        this.calls = calls;
    }

    /** Takes {@code cost} from every bucket, or from none when one of them is over. */
    public Uni<Decision> take(List<Bucket> buckets, int cost) {
        return run(buckets, cost, "take").map(r -> {
            int refused = r.get(0).toInteger();
            return refused == 0
                    ? new Decision(null, 0)
                    : new Decision(buckets.get(refused - 1), r.get(1).toLong());
        });
    }

    /** Takes {@code cost} from every bucket even when that puts them over. */
    public Uni<Void> charge(List<Bucket> buckets, int cost) {
        return run(buckets, cost, "charge").replaceWithVoid();
    }

    private Uni<io.vertx.mutiny.redis.client.Response> run(List<Bucket> buckets, int cost, String mode) {
        List<String> keys = new ArrayList<>(buckets.size());
        List<String> args = new ArrayList<>(2 + 2 * buckets.size());
        args.add(Integer.toString(cost));
        args.add(mode);
        for (Bucket b : buckets) {
            keys.add(b.key());
            long period = b.period().toMillis();
            args.add(Double.toString((double) period / b.requests()));
            args.add(Long.toString(period));
        }
        return calls.guard("check a rate limit", GCRA.run(redis, keys, args.toArray(String[]::new)));
    }
}
