package dev.tokenbroker.config;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.runtime.configuration.MemorySizeConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;

/** A {@link BrokerConfig} mapped from properties as the broker maps it, with one client so that it is complete. */
final class MappedConfig {

    private MappedConfig() {}

    static BrokerConfig of(Map<String, String> properties) {
        Map<String, String> all = new HashMap<>(properties);
        all.put("broker.clients.clover.client-id", "clover");
        all.put("broker.clients.clover.client-secret", "s");
        all.put("broker.clients.clover.redirect-uris", "clover://cb");
        return new SmallRyeConfigBuilder()
                .withMapping(BrokerConfig.class)
                // Quarkus' spellings: 10s, 14d, 16K.
                .withConverter(Duration.class, 100, new DurationConverter())
                .withConverter(MemorySize.class, 100, new MemorySizeConverter())
                .withSources(new PropertiesConfigSource(all, "test", 100))
                .build()
                .getConfigMapping(BrokerConfig.class);
    }
}
