package dev.tokenbroker.upstream;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the upstream token endpoint is known (configured, or discovered). Redis has its own check. */
@Readiness
@Singleton
class UpstreamReadiness implements HealthCheck {

    private final UpstreamMetadata metadata;

    UpstreamReadiness(UpstreamMetadata metadata) {
        this.metadata = metadata;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("upstream-metadata")
                .status(metadata.loaded())
                .build();
    }
}
