package dev.tokenbroker.upstream;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready once the token endpoint of an upstream is known (configured, or discovered): with one upstream, once that one
 * is. With several, an upstream that is down at start (a partner's provider) does not keep the pod from serving the
 * others' clients; its own clients get {@code 503} until its discovery succeeds. The check's data says, per upstream,
 * {@code loaded} or {@code discovery pending}. Redis has its own check.
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
                HealthCheckResponse.named("upstream-metadata").down();
        for (Upstream upstream : upstreams.all()) {
            boolean loaded = upstream.metadata().loaded();
            response.withData(upstream.id(), loaded ? "loaded" : "discovery pending");
            if (loaded) {
                response.up();
            }
        }
        return response.build();
    }
}
