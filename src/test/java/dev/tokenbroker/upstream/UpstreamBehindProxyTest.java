package dev.tokenbroker.upstream;

import java.time.Duration;
import java.util.List;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StoredSessions;
import dev.tokenbroker.support.TlsUpstreamResource;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An upstream behind a company CA and an egress proxy ({@link TlsUpstreamResource}): with
 * {@code broker.upstream.trust-certificates} and {@code broker.upstream.proxy.*}, discovery, the code exchange, the
 * refresh and the JWKS that verifies the ID token all go through the proxy, with its credentials, to a host only the
 * proxy can resolve.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(TlsUpstreamResource.class)
class UpstreamBehindProxyTest {

    @Inject
    RedisDataSource redis;

    @Test
    void everyUpstreamCallGoesThroughTheProxyAndTrustsTheCompanyCa() throws Exception {
        Await.until(
                "discovery through the proxy",
                Duration.ofSeconds(20),
                () -> Management.onManagementPort().get("/q/health/ready").statusCode() == 200);

        String handle = Broker.exchange(
                        Broker.MOBILE,
                        MockUpstreamResource.authorize(
                                TlsUpstreamResource.server(), Broker.MOBILE, Broker.MOBILE_REDIRECT, Broker.VERIFIER),
                        Broker.MOBILE_REDIRECT,
                        Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        Broker.refresh(Broker.MOBILE, handle).statusCode(200);

        String subjectTag = StoredSessions.of(redis, handle).get("subt");
        assertFalse(subjectTag == null || subjectTag.isEmpty(), "the ID token verified against the JWKS");
        List<String> paths = TlsUpstreamResource.receivedPaths();
        assertTrue(
                paths.containsAll(
                        List.of("/connect/.well-known/openid-configuration", "/connect/token", "/connect/jwks")),
                "discovery, token and JWKS reached the upstream: " + paths);
        String target = TlsUpstreamResource.HOST + ":"
                + TlsUpstreamResource.server().baseUrl().port();
        assertTrue(
                TlsUpstreamResource.proxy().tunnels().contains(target),
                TlsUpstreamResource.proxy().tunnels().toString());
        assertTrue(
                TlsUpstreamResource.proxy().tunnels().stream().allMatch(target::equals),
                "nothing else went through the proxy");
        assertEquals(List.of(), TlsUpstreamResource.proxy().refused(), "the broker always sent the credentials");
    }
}
