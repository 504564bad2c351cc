package dev.tokenbroker.support;

import java.util.Map;

import dev.tokenbroker.devmode.RedisServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Gives a {@code @QuarkusTest} a real Redis. Test classes share one server per JVM; a class that stops Redis
 * asks for its own with {@code initArgs = @ResourceArg(name = "dedicated", value = "true")}.
 */
public class RedisResource implements QuarkusTestResourceLifecycleManager {

    private static RedisServer shared;
    private static RedisServer current;

    private boolean dedicated;
    private RedisServer server;

    @Override
    public void init(Map<String, String> initArgs) {
        dedicated = Boolean.parseBoolean(initArgs.getOrDefault("dedicated", "false"));
    }

    @Override
    public Map<String, String> start() {
        if (dedicated) {
            server = RedisServer.start();
        } else {
            synchronized (RedisResource.class) {
                if (shared == null) {
                    shared = RedisServer.start();
                    Runtime.getRuntime().addShutdownHook(new Thread(shared::close));
                }
            }
            server = shared;
        }
        current = server;
        return Map.of("quarkus.redis.hosts", server.uri());
    }

    @Override
    public void stop() {
        if (dedicated) {
            server.close();
        }
    }

    /** The Redis of the test class now running. */
    public static RedisServer current() {
        return current;
    }
}
