package dev.tokenbroker.support;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

import dev.tokenbroker.devmode.RedisServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Gives a {@code @QuarkusTest} a real Redis. Test classes share one per JVM; a class that stops Redis asks for its own
 * standalone server with {@code initArgs = @ResourceArg(name = "dedicated", value = "true")}.
 *
 * <p>The shared one is of the topology that the system property {@value #TOPOLOGY} names: {@code standalone} (default),
 * {@code sentinel} or {@code cluster} ({@link RedisTopology}); with the latter two the broker also WAITs for one
 * replica on every session write ({@code broker.session.min-replicas-acked=1}). The {@code redis-sentinel} and
 * {@code redis-cluster} executions in {@code pom.xml} run the flow tests that way.
 */
public class RedisResource implements QuarkusTestResourceLifecycleManager {

    public static final String TOPOLOGY = "tb.redis.topology";

    private static Map<String, String> shared;
    private static RedisServer current;
    private static RedisTopology topology;

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
            current = server;
            return Map.of("quarkus.redis.hosts", server.uri());
        }
        synchronized (RedisResource.class) {
            if (shared == null) {
                shared = startShared(System.getProperty(TOPOLOGY, "standalone"));
            }
            return shared;
        }
    }

    private static Map<String, String> startShared(String topology) {
        if (topology.equals("standalone")) {
            RedisServer standalone = RedisServer.start();
            Runtime.getRuntime().addShutdownHook(new Thread(standalone::close));
            current = standalone;
            return Map.of("quarkus.redis.hosts", standalone.uri());
        }
        try {
            RedisTopology ha = switch (topology) {
                case "sentinel" -> RedisTopology.sentinel();
                case "cluster" -> RedisTopology.cluster();
                default -> throw new IllegalArgumentException(TOPOLOGY + " must be standalone, sentinel or cluster");
            };
            Runtime.getRuntime().addShutdownHook(new Thread(ha::close));
            RedisResource.topology = ha;
            Map<String, String> config = new HashMap<>(ha.brokerConfig());
            config.put("broker.session.min-replicas-acked", "1");
            return config;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start Redis " + topology, e);
        }
    }

    @Override
    public void stop() {
        if (dedicated) {
            server.close();
        }
    }

    /** The shared Sentinel or Cluster topology, or null when the shared Redis is standalone. */
    public static RedisTopology topology() {
        return topology;
    }

    /** The standalone Redis of the test class now running (a dedicated one, or the shared one when standalone). */
    public static RedisServer current() {
        return current;
    }
}
