package dev.tokenbroker.session;

import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code broker.session.min-replicas-acked} asks more of Redis than it has (a standalone server has no replica): every
 * session write is still answered, and counted in {@code broker_redis_replication_shortfall_total}.
 */
@QuarkusTest
@TestProfile(ReplicationShortfallTest.OneReplicaRequired.class)
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
@DisabledIfSystemProperty(named = RedisResource.TOPOLOGY, matches = "sentinel|cluster")
class ReplicationShortfallTest {

    public static class OneReplicaRequired implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "broker.session.min-replicas-acked", "1",
                    "broker.session.replication-timeout", "100ms");
        }
    }

    @Inject
    MeterRegistry registry;

    @Test
    void withoutAReplicaEveryExchangeAndRefreshIsAnsweredAndCountedAsAShortfall() throws Exception {
        double before = registry.counter("broker.redis.replication.shortfall").count();
        String code = MockUpstreamResource.authorize(Broker.MOBILE, Broker.MOBILE_REDIRECT, Broker.VERIFIER);
        String handle = Broker.exchange(Broker.MOBILE, code, Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        Broker.refresh(Broker.MOBILE, handle).statusCode(200);

        assertEquals(
                before + 2,
                registry.counter("broker.redis.replication.shortfall").count());
        Management.onManagementPort()
                .get("/q/metrics")
                .then()
                .body(containsString("broker_redis_replication_shortfall_total"));
    }
}
