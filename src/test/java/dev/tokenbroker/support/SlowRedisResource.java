package dev.tokenbroker.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

import dev.tokenbroker.devmode.RedisServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/** A Redis of its own behind a {@link LatencyProxy}, so that a test can make Redis slow while the broker runs. */
public class SlowRedisResource implements QuarkusTestResourceLifecycleManager {

    private static LatencyProxy proxy;
    private RedisServer redis;

    @Override
    public Map<String, String> start() {
        redis = RedisServer.start();
        try {
            proxy = LatencyProxy.start(redis.port());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Map.of("quarkus.redis.hosts", "redis://127.0.0.1:" + proxy.port(), "quarkus.redis.timeout", "1s");
    }

    @Override
    public void stop() {
        try {
            proxy.close();
        } catch (IOException e) {
            // the test is over
        }
        redis.close();
    }

    public static LatencyProxy proxy() {
        return proxy;
    }
}
