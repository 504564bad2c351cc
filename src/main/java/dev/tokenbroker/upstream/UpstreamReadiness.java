package dev.tokenbroker.upstream;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready once the token endpoint of every upstream is known (configured, or discovered); the check's data says which
 * upstreams are not. Redis has its own check.
 */
@Readiness
@Singleton
class UpstreamReadiness implements HealthCheck {

    private final Upstreams upstreams;

    UpstreamReadiness(Upstreams upstreams) {
        this.upstreams = upstreams;
    }

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder response =
                HealthCheckResponse.named("upstream-metadata").up();
        for (Upstream upstream : upstreams.all()) {
            boolean loaded = upstream.metadata().loaded();
            response.withData(upstream.id(), loaded ? "loaded" : "discovery pending");
            if (!loaded) {
                response.down();
            }
        }
        return response.build();
    }
}
