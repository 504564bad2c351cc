package dev.tokenbroker.upstream;

import java.net.URI;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import org.jboss.resteasy.reactive.client.api.QuarkusRestClientProperties;

import dev.tokenbroker.config.BrokerConfig;
import io.quarkus.rest.client.reactive.QuarkusRestClientBuilder;

/** One pooled HTTP client for every upstream endpoint, with the configured timeouts. */
class UpstreamApiProducer {

    @Produces
    @Singleton
    UpstreamApi upstreamApi(BrokerConfig config) {
        BrokerConfig.Upstream upstream = config.upstream();
        return QuarkusRestClientBuilder.newBuilder()
                // Every call names its full endpoint with @Url; the base URI is never used.
                .baseUri(URI.create("http://upstream.invalid"))
                .connectTimeout(upstream.connectTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .readTimeout(upstream.readTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .property(QuarkusRestClientProperties.CONNECTION_POOL_SIZE, upstream.connectionPoolSize())
                .followRedirects(false)
                .disableDefaultMapper(true)
                .build(UpstreamApi.class);
    }
}
