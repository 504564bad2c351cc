package dev.tokenbroker.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * The highly available Redis topologies operators run, as real {@code redis-server} processes on loopback: Sentinel
 * (a primary, one replica, three Sentinels with quorum 2) and Cluster (three primaries with one replica each, formed
 * with CLUSTER MEET, ADDSLOTS and REPLICATE, as {@code redis-cli --cluster create} does, which needs no
 * {@code redis-cli}). {@link #brokerConfig()} is what the broker needs to reach it (Quarkus {@code quarkus.redis.*}).
 */
public final class RedisTopology implements AutoCloseable {

    public static final String MASTER_NAME = "mymaster";

    private final String clientType;
    private final List<RedisNode> nodes;
    private final List<RedisNode> sentinels;

    private RedisTopology(String clientType, List<RedisNode> nodes, List<RedisNode> sentinels) {
        this.clientType = clientType;
        this.nodes = nodes;
        this.sentinels = sentinels;
    }

    /** Primary, replica and three Sentinels watching them; returns once the Sentinels know each other and the replica. */
    public static RedisTopology sentinel() throws IOException {
        Path dir = Files.createTempDirectory("tb-sentinel");
        List<RedisNode> nodes = new ArrayList<>();
        List<RedisNode> sentinels = new ArrayList<>();
        RedisTopology topology = new RedisTopology("sentinel", nodes, sentinels);
        try {
            RedisNode primary = RedisNode.server(dir);
            nodes.add(primary);
            nodes.add(RedisNode.server(dir, "--replicaof", "127.0.0.1", Integer.toString(primary.port())));
            for (int i = 0; i < 3; i++) {
                sentinels.add(RedisNode.sentinel(
                        dir,
                        List.of(
                                "sentinel monitor " + MASTER_NAME + " 127.0.0.1 " + primary.port() + " 2",
                                "sentinel down-after-milliseconds " + MASTER_NAME + " 1000",
                                "sentinel failover-timeout " + MASTER_NAME + " 5000",
                                "sentinel parallel-syncs " + MASTER_NAME + " 1")));
            }
            await(
                    "the Sentinels to see the replica and each other",
                    () -> sentinels.stream()
                            .allMatch(s -> "1".equals(masterField(s, "num-slaves"))
                                    && "2".equals(masterField(s, "num-other-sentinels"))));
            await("the replica to be in sync", () -> "up".equals(field(nodes.get(1), "master_link_status")));
            return topology;
        } catch (RuntimeException | IOException e) {
            topology.close();
            throw e;
        }
    }

    /** Three primaries with 16384 slots between them and one replica each; returns once the cluster state is ok. */
    public static RedisTopology cluster() throws IOException {
        Path dir = Files.createTempDirectory("tb-cluster");
        List<RedisNode> nodes = new ArrayList<>();
        RedisTopology topology = new RedisTopology("cluster", nodes, List.of());
        try {
            for (int i = 0; i < 6; i++) {
                nodes.add(RedisNode.server(
                        dir,
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes-" + i + ".conf",
                        "--cluster-node-timeout",
                        "2000"));
            }
            for (RedisNode node : nodes.subList(1, 6)) {
                nodes.get(0).call("CLUSTER", "MEET", "127.0.0.1", Integer.toString(node.port()));
            }
            int[] first = {0, 5461, 10923, 16384};
            for (int m = 0; m < 3; m++) {
                List<String> args = new ArrayList<>(List.of("CLUSTER", "ADDSLOTS"));
                for (int slot = first[m]; slot < first[m + 1]; slot++) {
                    args.add(Integer.toString(slot));
                }
                nodes.get(m).call(args.toArray(String[]::new));
            }
            await(
                    "every node to know all six",
                    () -> nodes.stream().allMatch(n -> {
                        try {
                            return ((String) n.call("CLUSTER", "NODES"))
                                            .lines()
                                            .filter(l -> !l.contains("handshake"))
                                            .count()
                                    == 6;
                        } catch (IOException e) {
                            return false;
                        }
                    }));
            for (int r = 3; r < 6; r++) {
                String primaryId = (String) nodes.get(r - 3).call("CLUSTER", "MYID");
                nodes.get(r).call("CLUSTER", "REPLICATE", primaryId);
            }
            await(
                    "the cluster to be ok with every replica in sync",
                    () -> nodes.stream().allMatch(n -> clusterState(n).equals("ok"))
                            && nodes.subList(3, 6).stream().allMatch(n -> "up".equals(field(n, "master_link_status"))));
            return topology;
        } catch (RuntimeException | IOException e) {
            topology.close();
            throw e;
        }
    }

    /** {@code quarkus.redis.*} for the broker: the Sentinels or the cluster nodes, and the client type. */
    public Map<String, String> brokerConfig() {
        String hosts = (sentinels.isEmpty() ? nodes : sentinels)
                .stream().map(RedisNode::uri).collect(Collectors.joining(","));
        return clientType.equals("sentinel")
                ? Map.of(
                        "quarkus.redis.hosts",
                        hosts,
                        "quarkus.redis.client-type",
                        "sentinel",
                        "quarkus.redis.master-name",
                        MASTER_NAME)
                : Map.of("quarkus.redis.hosts", hosts, "quarkus.redis.client-type", "cluster");
    }

    /** Every data node (not the Sentinels), primaries first. */
    public List<RedisNode> nodes() {
        return nodes;
    }

    /** The node that is primary now, by the Sentinels' word (Sentinel) or the first live primary (Cluster). */
    public RedisNode primary() throws IOException {
        if (clientType.equals("sentinel")) {
            for (RedisNode s : sentinels) {
                try {
                    @SuppressWarnings("unchecked")
                    List<Object> addr = (List<Object>) s.call("SENTINEL", "get-master-addr-by-name", MASTER_NAME);
                    int port = Integer.parseInt((String) addr.get(1));
                    return nodes.stream()
                            .filter(n -> n.port() == port)
                            .findFirst()
                            .orElseThrow();
                } catch (IOException e) {
                    // ask the next Sentinel
                }
            }
            throw new IOException("no Sentinel answers");
        }
        for (RedisNode n : nodes) {
            if (n.alive() && "master".equals(field(n, "role"))) {
                return n;
            }
        }
        throw new IOException("no primary");
    }

    /** Waits (at most 30 s) until a replica other than {@code old} is primary and accepts writes. */
    public RedisNode awaitPromotionOtherThan(RedisNode old) {
        await("a replica to be promoted", () -> {
            try {
                RedisNode now = primary();
                return now != old && "master".equals(field(now, "role"));
            } catch (IOException e) {
                return false;
            }
        });
        try {
            return primary();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        sentinels.forEach(RedisNode::close);
        nodes.forEach(RedisNode::close);
    }

    private static String masterField(RedisNode sentinel, String name) {
        try {
            @SuppressWarnings("unchecked")
            List<Object> pairs = (List<Object>) sentinel.call("SENTINEL", "master", MASTER_NAME);
            for (int i = 0; i + 1 < pairs.size(); i += 2) {
                if (name.equals(pairs.get(i))) {
                    return (String) pairs.get(i + 1);
                }
            }
            return "";
        } catch (IOException e) {
            return "";
        }
    }

    private static String field(RedisNode node, String name) {
        try {
            return node.info("replication", name);
        } catch (IOException e) {
            return "";
        }
    }

    private static String clusterState(RedisNode node) {
        try {
            return node.info("cluster", "cluster_enabled").equals("1")
                    ? ((String) node.call("CLUSTER", "INFO"))
                            .lines()
                            .filter(l -> l.startsWith("cluster_state:"))
                            .map(l -> l.substring("cluster_state:".length()))
                            .findFirst()
                            .orElse("")
                    : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static void await(String what, BooleanSupplier condition) {
        Await.until(what, Duration.ofSeconds(30), condition);
    }
}
