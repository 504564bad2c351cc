package dev.tokenbroker.upstream;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.core.Form;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import io.quarkus.rest.client.reactive.Url;
import io.smallrye.mutiny.Uni;

/**
 * Raw HTTP to the upstream. Endpoints come from discovery, hence {@link Url}. Answers come back as
 * {@link Response} so that {@link UpstreamClient} alone decides what each status and body means.
 */
interface UpstreamApi {

    /** Asynchronous, so that {@link UpstreamClient} can bound the whole call (pool wait, connect, slow bodies). */
    @POST
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    Uni<Response> post(@Url String endpoint, @HeaderParam("Authorization") String authorization, Form form);

    @GET
    Response get(@Url String endpoint);
}
