package dev.tokenbroker.support;

import java.util.HashMap;
import java.util.Map;

import dev.tokenbroker.devmode.RedisServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A web-mode client ({@code broker.clients.spa}) for {@code /bff/*} tests. Its redirect URIs must name the broker's
 * own port, so this resource picks the test server's port (a free one, like {@code test-port=0} would) and two more
 * for pages on other origins: the SPA's ({@link #appOrigin()}, allowed) and an attacker's ({@link #evilOrigin()}, not).
 */
public class WebClientResource implements QuarkusTestResourceLifecycleManager {

    public static final String CLIENT_ID = "clover-spa";

    private static int brokerPort;
    private static int appPort;
    private static int evilPort;

    @Override
    public Map<String, String> start() {
        brokerPort = RedisServer.freePort();
        appPort = RedisServer.freePort();
        evilPort = RedisServer.freePort();
        Map<String, String> config = new HashMap<>();
        config.put("quarkus.http.test-port", Integer.toString(brokerPort));
        // The broker is reached at its own port here, not through an ingress.
        config.put("broker.external-base-url", brokerOrigin());
        config.put("broker.clients.spa.client-id", CLIENT_ID);
        config.put("broker.clients.spa.client-secret", "spa-secret-1234");
        config.put("broker.clients.spa.mode", "web");
        config.put(
                "broker.clients.spa.redirect-uris",
                brokerOrigin() + "/bff/callback,http://127.0.0.1:" + brokerPort + "/bff/callback");
        config.put("broker.clients.spa.allowed-origins", appOrigin() + "," + brokerOrigin());
        config.put("broker.clients.spa.return-to", appOrigin() + "," + brokerOrigin() + "/done");
        config.put("broker.clients.spa.post-logout-redirect-uri", appOrigin() + "/");
        // The mobile client may call /oauth2/* from the SPA's origin too (CORS without credentials).
        config.put("broker.clients.clover.allowed-origins", appOrigin());
        return config;
    }

    @Override
    public void stop() {}

    public static String brokerOrigin() {
        return "http://localhost:" + brokerPort;
    }

    public static String appOrigin() {
        return "http://localhost:" + appPort;
    }

    public static String evilOrigin() {
        return "http://localhost:" + evilPort;
    }

    public static int appPort() {
        return appPort;
    }

    public static int evilPort() {
        return evilPort;
    }
}
