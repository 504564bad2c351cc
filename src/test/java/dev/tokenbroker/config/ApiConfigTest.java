package dev.tokenbroker.config;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.runtime.configuration.MemorySizeConverter;
import io.smallrye.config.SmallRyeConfigBuilder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The API proxy's settings are checked at startup, one plain line per problem naming the property. */
class ApiConfigTest {

    private static Clients clients(Map<String, String> properties) {
        return new Clients(new SmallRyeConfigBuilder()
                .withMapping(BrokerConfig.class)
                .withConverter(Duration.class, 200, new DurationConverter())
                .withConverter(MemorySize.class, 200, new MemorySizeConverter())
                .withDefaultValues(Map.of("broker.upstream.issuer", "https://login.example"))
                .withDefaultValues(properties)
                .build()
                .getConfigMapping(BrokerConfig.class));
    }

    private static Map<String, String> webClient() {
        Map<String, String> config = new HashMap<>();
        config.put("broker.clients.spa.client-id", "spa");
        config.put("broker.clients.spa.client-secret", "s");
        config.put("broker.clients.spa.redirect-uris", "https://app.example/bff/callback");
        config.put("broker.clients.spa.mode", "web");
        config.put("broker.clients.spa.return-to", "https://app.example");
        config.put("broker.clients.spa.allowed-origins", "https://app.example");
        return config;
    }

    @Test
    void aWebClientsApisAreReadWithTheirDefaults() {
        Map<String, String> config = webClient();
        config.put("broker.clients.spa.apis.orders.url", "https://api.example/v1");
        RegisteredClient spa = clients(config).byClientId("spa").orElseThrow();
        BrokerConfig.Api orders = spa.apis().get("orders");
        assertEquals("https://api.example/v1", orders.url().toString());
        assertTrue(orders.methods().containsAll(List.of("GET", "POST", "DELETE")));
        assertTrue(orders.requestHeaders().contains("content-type"));
        assertTrue(!orders.requestHeaders().contains("cookie")
                && !orders.responseHeaders().contains("set-cookie"));
        assertTrue(spa.tokenEndpoint(), "token-endpoint is on unless turned off");
    }

    @Test
    void badApiSettingsStopTheBrokerNamingEachProperty() {
        Map<String, String> config = webClient();
        config.put("broker.clients.spa.apis.Orders.url", "https://api.example");
        config.put("broker.clients.spa.apis.plain.url", "http://api.example");
        config.put("broker.clients.spa.apis.query.url", "https://api.example/v1?tenant=1");
        config.put("broker.clients.spa.apis.verbs.url", "https://api.example");
        config.put("broker.clients.spa.apis.verbs.methods", "GET,TRACE");
        config.put("broker.clients.spa.apis.creds.url", "https://user:pass@api.example");
        config.put("broker.clients.spa.apis.creds.request-headers", "accept,cookie,X-Trace");
        config.put("broker.clients.spa.apis.creds.response-headers", "etag,set-cookie");
        config.put("broker.clients.app.client-id", "app");
        config.put("broker.clients.app.client-secret", "s");
        config.put("broker.clients.app.redirect-uris", "app://callback");
        config.put("broker.clients.app.apis.orders.url", "https://api.example");
        String problems = assertThrows(IllegalArgumentException.class, () -> clients(config))
                .getMessage();
        for (String expected : List.of(
                "broker.clients.spa.apis.Orders: lower-case letters, digits and '-' only",
                "broker.clients.spa.apis.plain.url: 'http://api.example' must be an https URL",
                "broker.clients.spa.apis.query.url: 'https://api.example/v1?tenant=1' must have no query or fragment",
                "broker.clients.spa.apis.verbs.methods: 'TRACE' is not one of",
                "broker.clients.spa.apis.creds.url: must carry no user info",
                "broker.clients.spa.apis.creds.request-headers: 'cookie' is never passed through",
                "broker.clients.spa.apis.creds.request-headers: 'X-Trace' must be lower case",
                "broker.clients.spa.apis.creds.response-headers: 'set-cookie' is never passed through",
                "broker.clients.app.apis: only web clients (mode=web) call APIs through /bff/api/")) {
            assertTrue(problems.contains(expected), expected + " in:\n" + problems);
        }
    }
}
