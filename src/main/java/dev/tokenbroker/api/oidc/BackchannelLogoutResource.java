package dev.tokenbroker.api.oidc;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import dev.tokenbroker.api.http.ErrorMapper;
import dev.tokenbroker.api.http.ErrorResponse;
import dev.tokenbroker.api.http.FormBody;
import dev.tokenbroker.api.http.NoStore;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.token.BackchannelLogout;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * OIDC Back-Channel Logout 1.0 §2.5: the URL an operator registers at the upstream for each client. The upstream
 * POSTs {@code logout_token} as a form; §2.8: 200 when the logout succeeded (also when no session matched: it is
 * idempotent), 400 {@code invalid_request} for a token that fails verification, and 503 when Redis failed or too many
 * logouts are in flight, so that the upstream retries. Every answer carries {@code Cache-Control: no-store}.
 */
@Path("/oidc/backchannel-logout")
@Produces(MediaType.APPLICATION_JSON)
public class BackchannelLogoutResource {

    private static final Logger LOG = Logger.getLogger(BackchannelLogoutResource.class);

    private final BackchannelLogout logout;
    private final MeterRegistry registry;
    private final Map<String, Counter> received = new ConcurrentHashMap<>();

    BackchannelLogoutResource(BackchannelLogout logout, MeterRegistry registry) {
        this.logout = logout;
        this.registry = registry;
        count("accepted", 0);
    }

    /** §2.8 bodies for this endpoint's failures, counted by reason. */
    @ServerExceptionMapper
    Response logoutError(BrokerException e) {
        count(e.outcome(), 1);
        return ErrorMapper.oauthError(e);
    }

    @POST
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(summary = "OIDC Back-Channel Logout 1.0 receiver: ends the sessions of the upstream session or user")
    @APIResponse(responseCode = "200", description = "Logout done (also when no session matched)")
    @APIResponse(
            responseCode = "400",
            description = "invalid_request: the logout token is missing or invalid",
            content = @Content(schema = @Schema(implementation = ErrorResponse.class)))
    @APIResponse(responseCode = "503", description = "temporarily_unavailable: retry later")
    public Response receive(byte[] form, @HeaderParam("Content-Type") String type) {
        String token = FormBody.parse(form, type).required("logout_token");
        BackchannelLogout.Outcome outcome = logout.handle(token);
        count("accepted", 1);
        LOG.infof("operation=backchannel_logout outcome=accepted sessions_ended=%d", outcome.sessionsEnded());
        return NoStore.headers(Response.ok()).build();
    }

    private void count(String outcome, int amount) {
        received.computeIfAbsent(
                        outcome,
                        o -> Counter.builder("broker.backchannel.logouts")
                                .description(
                                        "Back-channel logout tokens received, by outcome (accepted, or why they were refused)")
                                .tag("outcome", o)
                                .register(registry))
                .increment(amount);
    }
}
