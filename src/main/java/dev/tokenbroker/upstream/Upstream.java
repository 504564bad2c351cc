package dev.tokenbroker.upstream;

import java.util.concurrent.atomic.AtomicInteger;

import dev.tokenbroker.config.ConfiguredUpstream;

/**
 * One upstream at run time: its HTTP client, its endpoints and its signing keys, each its own, so that one upstream's
 * trust, proxy, pool and outages never touch another's.
 *
 * @param pushesInFlight its pushed authorization requests waiting for an answer ({@link UpstreamClient})
 */
record Upstream(
        ConfiguredUpstream configured,
        UpstreamHttp http,
        UpstreamMetadata metadata,
        UpstreamJwks jwks,
        AtomicInteger pushesInFlight) {

    String id() {
        return configured.id();
    }
}
