package dev.tokenbroker.upstream;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.core.Response;

import io.quarkus.rest.client.reactive.Url;

/**
 * The discovery document's GET, for {@link UpstreamMetadata}. Token and revocation calls go through
 * {@link UpstreamClient}'s own HTTP client, which caps what it reads.
 */
interface UpstreamApi {

    @GET
    Response get(@Url String endpoint);
}
