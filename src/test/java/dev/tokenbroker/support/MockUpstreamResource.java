package dev.tokenbroker.support;

import java.net.InetAddress;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import no.nav.security.mock.oauth2.MockOAuth2Server;

/**
 * A real OpenID provider (mock-oauth2-server) as the upstream. Issuer id {@code connect} gives the Duende
 * layout {@code /connect/token}; the broker finds it through discovery.
 */
public class MockUpstreamResource implements QuarkusTestResourceLifecycleManager {

    private static MockOAuth2Server server;

    @Override
    public Map<String, String> start() {
        server = new MockOAuth2Server();
        try {
            server.start(InetAddress.getLoopbackAddress(), 0);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return Map.of("broker.upstream.issuer", server.issuerUrl("connect").toString());
    }

    @Override
    public void stop() {
        server.shutdown();
    }

    public static MockOAuth2Server server() {
        return server;
    }
}
