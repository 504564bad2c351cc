package dev.tokenbroker.config;

import java.util.Map;
import java.util.NoSuchElementException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Client secrets are not configuration expressions (issue 11 item 4), wherever they come from. */
class VerbatimSecretsTest {

    static final String SECRET = "a$$b${HOME}c${nope}";

    @AfterEach
    void clear() {
        System.clearProperty("broker.clients.sys.client-secret");
    }

    private static SmallRyeConfig config(boolean verbatim) {
        SmallRyeConfigBuilder builder = new SmallRyeConfigBuilder()
                .withProfile("prod")
                .addDefaultSources()
                .addDefaultInterceptors()
                .withSources(new PropertiesConfigSource(
                        Map.of(
                                "broker.clients.props.client-secret", SECRET,
                                "broker.clients.\"quoted\".client-secret", SECRET,
                                "%prod.broker.clients.profiled.client-secret", SECRET,
                                "broker.clients.props.private-keys-password", SECRET,
                                "broker.upstream.proxy.password", SECRET,
                                "broker.upstreams.partner.proxy.password", SECRET,
                                "broker.clients.props.client-id", "id-${HOME}"),
                        "application.properties",
                        250));
        if (verbatim) {
            builder.withInterceptors(new VerbatimSecrets());
        }
        return builder.build();
    }

    @Test
    void secretsFromPropertiesAndSystemPropertiesAreReadVerbatim() {
        System.setProperty("broker.clients.sys.client-secret", SECRET);
        SmallRyeConfig config = config(true);
        assertEquals(SECRET, config.getValue("broker.clients.props.client-secret", String.class));
        assertEquals(SECRET, config.getValue("broker.clients.sys.client-secret", String.class));
        assertEquals(SECRET, config.getValue("broker.clients.\"quoted\".client-secret", String.class));
        assertEquals(SECRET, config.getValue("broker.clients.profiled.client-secret", String.class));
        assertEquals(SECRET, config.getValue("broker.clients.props.private-keys-password", String.class));
        assertEquals(SECRET, config.getValue("broker.upstream.proxy.password", String.class));
        assertEquals(SECRET, config.getValue("broker.upstreams.partner.proxy.password", String.class));
    }

    @Test
    void otherPropertiesKeepTheirExpressions() {
        assumeTrue(System.getenv("HOME") != null);
        assertEquals(
                "id-" + System.getenv("HOME"), config(true).getValue("broker.clients.props.client-id", String.class));
    }

    @Test
    void withoutTheInterceptorSmallRyeWouldExpandTheSecret() {
        assertThrows(
                NoSuchElementException.class,
                () -> config(false).getValue("broker.clients.props.client-secret", String.class));
    }
}
