package dev.tokenbroker.support;

import java.util.Map;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A WireMock upstream for exact Duende bytes and faults, configured with explicit endpoints (no discovery),
 * as the Clearline seed is. Tests script it through {@link #server()} and {@link Upstream}.
 */
public class WireMockUpstreamResource implements QuarkusTestResourceLifecycleManager {

    private static WireMockServer server;

    @Override
    public Map<String, String> start() {
        server = new WireMockServer(WireMockConfiguration.options()
                .bindAddress("127.0.0.1")
                .dynamicPort()
                .containerThreads(80)
                .jettyAcceptors(2));
        server.start();
        return Map.of(
                "broker.upstream.token-endpoint", server.baseUrl() + "/connect/token",
                "broker.upstream.revocation-endpoint", server.baseUrl() + "/connect/revocation",
                "broker.upstream.read-timeout", "2s",
                // A second upstream under /second, with one client.
                "broker.upstreams.second.token-endpoint", server.baseUrl() + "/second/token",
                "broker.upstreams.second.revocation-endpoint", server.baseUrl() + "/second/revocation",
                "broker.clients.second.client-id", "clover-second",
                "broker.clients.second.client-secret", "second-secret-5678",
                "broker.clients.second.redirect-uris", "clover-second://cb",
                "broker.clients.second.upstream", "second");
    }

    @Override
    public void stop() {
        server.stop();
    }

    public static WireMockServer server() {
        return server;
    }
}
