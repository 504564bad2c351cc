package dev.tokenbroker.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/** {@link OneTimeRefreshUpstream} as the test broker's upstream, with explicit endpoints (no discovery). */
public class OneTimeUpstreamResource implements QuarkusTestResourceLifecycleManager {

    private static OneTimeRefreshUpstream upstream;

    @Override
    public Map<String, String> start() {
        try {
            upstream = new OneTimeRefreshUpstream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Map.of(
                "broker.upstream.token-endpoint", upstream.baseUrl() + "/token",
                "broker.upstream.revocation-endpoint", upstream.baseUrl() + "/revocation",
                "broker.upstream.read-timeout", "5s");
    }

    @Override
    public void stop() {
        upstream.close();
    }

    public static OneTimeRefreshUpstream upstream() {
        return upstream;
    }
}
