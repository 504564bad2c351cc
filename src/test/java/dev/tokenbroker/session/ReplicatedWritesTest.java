package dev.tokenbroker.session;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisNode;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StoredSessions;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With Sentinel or Cluster and {@code broker.session.min-replicas-acked=1} (what {@link RedisResource} sets for them):
 * WAIT goes to the node that took the session's write, and a refresh is answered only once that node's replica holds
 * the commit. Runs in the {@code redis-sentinel} and {@code redis-cluster} executions.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
@EnabledIfSystemProperty(named = RedisResource.TOPOLOGY, matches = "sentinel|cluster")
class ReplicatedWritesTest {

    @Inject
    MeterRegistry registry;

    @Test
    void aRefreshIsAnsweredOnlyOnceAReplicaOfTheSessionsPrimaryHoldsIt() throws Exception {
        double shortfalls = shortfalls();
        String code = MockUpstreamResource.authorize(Broker.MOBILE, Broker.MOBILE_REDIRECT, Broker.VERIFIER);
        String handle = Broker.exchange(Broker.MOBILE, code, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        String key = StoredSessions.key(handle);
        RedisNode primary = holderOf(key);
        long waitsBefore = waits(primary);

        String next =
                Broker.refresh(Broker.MOBILE, handle).statusCode(200).extract().path("refresh_token");

        // Read at once, no waiting: the replica had the commit before the broker answered.
        RedisNode replica = replicaOf(primary);
        assertEquals("1", replica.callReplica("HGET", key, "version"), "the replica holds the refresh's commit");
        assertTrue(waits(primary) > waitsBefore, "WAIT went to the primary that took the write");
        assertEquals(shortfalls, shortfalls(), "one replica acknowledged in time");
        assertFalse(next.equals(handle));
    }

    private double shortfalls() {
        return registry.counter("broker.redis.replication.shortfall").count();
    }

    /** The primary that holds the key (the others answer MOVED, or do not have it). */
    private static RedisNode holderOf(String key) throws IOException {
        List<RedisNode> holders = new ArrayList<>();
        for (RedisNode node : RedisResource.topology().nodes()) {
            try {
                if ("master".equals(node.info("replication", "role"))
                        && Long.valueOf(1).equals(node.call("EXISTS", key))) {
                    holders.add(node);
                }
            } catch (IOException moved) {
                // another node's slot
            }
        }
        assertEquals(1, holders.size(), "one primary holds " + key);
        return holders.get(0);
    }

    private static RedisNode replicaOf(RedisNode primary) throws IOException {
        for (RedisNode node : RedisResource.topology().nodes()) {
            if (node.info("replication", "master_port").equals(Integer.toString(primary.port()))) {
                return node;
            }
        }
        throw new AssertionError("no replica of port " + primary.port());
    }

    /** Calls of WAIT the node has served, from INFO commandstats ({@code cmdstat_wait:calls=N,...}). */
    private static long waits(RedisNode node) throws IOException {
        String stat = node.info("commandstats", "cmdstat_wait");
        return stat.isEmpty() ? 0 : Long.parseLong(stat.replaceAll("^calls=(\\d+).*", "$1"));
    }
}
