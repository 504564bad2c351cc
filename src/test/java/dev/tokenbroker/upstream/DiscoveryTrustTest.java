package dev.tokenbroker.upstream;

import java.time.Duration;
import java.util.Map;
import java.util.function.Function;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.ConfiguredUpstream;
import dev.tokenbroker.upstream.UpstreamHttp.Reply;
import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.runtime.configuration.MemorySizeConverter;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.mutiny.Uni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Discovered endpoints receive the client secret and refresh tokens: only trustworthy ones are used. */
class DiscoveryTrustTest {

    static final String ISSUER = "https://login.example.com";

    /** The default upstream of {@code config}. */
    static ConfiguredUpstream upstream(BrokerConfig config) {
        return new ConfiguredUpstream(ConfiguredUpstream.DEFAULT, config.upstream());
    }

    static BrokerConfig config(Map<String, String> extra) {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withMapping(BrokerConfig.class)
                // Quarkus' own converters for "5s" and "64K", as the application has them.
                .withConverter(Duration.class, 200, new DurationConverter())
                .withConverter(MemorySize.class, 200, new MemorySizeConverter())
                .withDefaultValues(
                        Map.of("broker.upstream.issuer", ISSUER, "broker.upstream.discovery-retry-interval", "1h"))
                .withDefaultValues(extra)
                .build();
        return config.getConfigMapping(BrokerConfig.class);
    }

    /** An upstream that publishes {@code document} as its discovery document. */
    static Function<String, Uni<Reply>> publishing(String document) {
        return endpoint -> {
            assertEquals(ISSUER + "/.well-known/openid-configuration", endpoint);
            return Uni.createFrom().item(new Reply(200, document));
        };
    }

    static String document(String tokenEndpoint, String jwksUri) {
        return "{\"issuer\":\"" + ISSUER + "\",\"token_endpoint\":\"" + tokenEndpoint + "\",\"jwks_uri\":\"" + jwksUri
                + "\"}";
    }

    private static boolean loads(String document, Map<String, String> extra) {
        UpstreamMetadata metadata =
                new UpstreamMetadata(upstream(config(extra)), publishing(document), new ObjectMapper());
        try {
            return metadata.loaded();
        } finally {
            metadata.stop();
        }
    }

    @Test
    void anIssuerAdvertisedWithATrailingSlashIsKeptAsAdvertisedForTokenChecks() {
        // Auth0's issuer ends in '/': its tokens carry that exact iss, and the JWT checks compare exactly.
        String document = "{\"issuer\":\"" + ISSUER + "/\",\"token_endpoint\":\"" + ISSUER + "/oauth/token\"}";
        UpstreamMetadata metadata =
                new UpstreamMetadata(upstream(config(Map.of())), publishing(document), new ObjectMapper());
        try {
            assertTrue(metadata.loaded());
            assertEquals(ISSUER + "/", metadata.current().issuer().orElseThrow());
        } finally {
            metadata.stop();
        }
    }

    @Test
    void httpsEndpointsLoad() {
        assertTrue(loads(document(ISSUER + "/connect/token", ISSUER + "/jwks"), Map.of()));
    }

    @Test
    void plainHttpEndpointsAreRefusedExceptOnLoopback() {
        assertFalse(loads(document("http://login.example.com/connect/token", ISSUER + "/jwks"), Map.of()));
        assertFalse(loads(document(ISSUER + "/connect/token", "http://login.example.com/jwks"), Map.of()));
        assertTrue(loads(document("http://127.0.0.1:8090/connect/token", "http://localhost:8090/jwks"), Map.of()));
        assertFalse(
                loads(document("http://127.attacker.example/connect/token", ISSUER + "/jwks"), Map.of()),
                "a name that starts with 127. is not loopback");
    }

    @Test
    void allowedHostsPinTheEndpoints() {
        Map<String, String> pinned = Map.of("broker.upstream.allowed-hosts", "login.example.com");
        assertTrue(loads(document(ISSUER + "/connect/token", ISSUER + "/jwks"), pinned));
        assertFalse(loads(document("https://evil.example.net/connect/token", ISSUER + "/jwks"), pinned));
    }
}
