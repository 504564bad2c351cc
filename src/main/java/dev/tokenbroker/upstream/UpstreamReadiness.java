package dev.tokenbroker.upstream;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready once the token endpoint of every upstream is known (configured, or discovered), so that a rollout with a
 * mistake in one upstream's settings stalls instead of replacing the pods that serve its clients. The price: an
 * upstream that is down while a pod starts keeps that pod unready until it is back (discovery is retried). The
 * check's data says, per upstream, {@code loaded} or {@code discovery pending}. Redis has its own check.
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
