package dev.tokenbroker.api.oauth2;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import jakarta.enterprise.inject.Instance;
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
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;

import dev.tokenbroker.api.http.ErrorResponse;
import dev.tokenbroker.api.http.FormBody;
import dev.tokenbroker.api.http.NoStore;
import dev.tokenbroker.api.http.Params;
import dev.tokenbroker.api.http.RateLimits;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.token.EndSession;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpServerRequest;

/**
 * The front ends' token endpoint (RFC 6749 §3.2) and revocation endpoint (RFC 7009). Both take
 * {@code application/x-www-form-urlencoded}, as standard OAuth clients send, or a JSON object with the same
 * field names.
 */
@Path("/oauth2")
@Produces(MediaType.APPLICATION_JSON)
public class TokenResource {

    private final Clients clients;
    private final Map<String, GrantHandler> grants;
    private final EndSession endSession;
    private final DpopBinding dpop;
    private final Operations operations;
    private final RateLimits rateLimits;
    private final ObjectReader strictJson;

    TokenResource(
            Clients clients,
            Instance<GrantHandler> grants,
            EndSession endSession,
            DpopBinding dpop,
            Operations operations,
            RateLimits rateLimits,
            ObjectMapper json) {
        this.clients = clients;
        this.grants = grants.stream().collect(Collectors.toUnmodifiableMap(GrantHandler::grantType, g -> g));
        this.endSession = endSession;
        this.dpop = dpop;
        this.operations = operations;
        this.rateLimits = rateLimits;
        // Trailing tokens: '{...}garbage' is not a JSON object, and must not pass as the object before the garbage.
        this.strictJson = json.reader()
                .with(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    }

    @POST
    @Path("/token")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(summary = "Exchange an authorization code, or refresh with a broker refresh token (RFC 6749)")
    @RequestBody(
            content = {
                @Content(
                        mediaType = MediaType.APPLICATION_FORM_URLENCODED,
                        schema = @Schema(implementation = ApiDoc.TokenRequest.class)),
                @Content(
                        mediaType = MediaType.APPLICATION_JSON,
                        schema = @Schema(implementation = ApiDoc.TokenRequest.class))
            })
    @APIResponse(
            responseCode = "200",
            description = "Tokens; refresh_token is the broker's handle",
            content = @Content(schema = @Schema(implementation = TokenResponse.class)))
    @APIResponse(
            responseCode = "400",
            description = "invalid_request, invalid_grant, invalid_scope, unsupported_grant_type",
            content = @Content(schema = @Schema(implementation = ErrorResponse.class)))
    @APIResponse(responseCode = "401", description = "invalid_client: unknown client_id")
    @APIResponse(responseCode = "405", description = "invalid_request: wrong method")
    @APIResponse(responseCode = "413", description = "invalid_request: body over the size limit")
    @APIResponse(responseCode = "415", description = "invalid_request: wrong Content-Type")
    @APIResponse(responseCode = "500", description = "server_error: unexpected failure")
    @APIResponse(
            responseCode = "502",
            description = "server_error (upstream rejected the broker's credentials) "
                    + "or temporarily_unavailable (upstream down or answering garbage)")
    @APIResponse(responseCode = "503", description = "temporarily_unavailable: session store down; see Retry-After")
    @APIResponse(responseCode = "504", description = "temporarily_unavailable: upstream timed out")
    @APIResponse(responseCode = "429", description = "temporarily_unavailable: rate limit reached; see Retry-After")
    public Uni<Response> tokenForm(
            byte[] form,
            @HeaderParam("Content-Type") String type,
            @HeaderParam("DPoP") List<String> dpop,
            HttpServerRequest http) {
        return token(() -> FormBody.parse(form, type), dpop, http);
    }

    @POST
    @Path("/token")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(hidden = true)
    public Uni<Response> tokenJson(byte[] body, @HeaderParam("DPoP") List<String> dpop, HttpServerRequest http) {
        return token(() -> jsonParams(body), dpop, http);
    }

    @POST
    @Path("/revoke")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(summary = "Revoke a broker refresh token and its upstream refresh token (RFC 7009)")
    @RequestBody(
            content = {
                @Content(
                        mediaType = MediaType.APPLICATION_FORM_URLENCODED,
                        schema = @Schema(implementation = ApiDoc.RevocationRequest.class)),
                @Content(
                        mediaType = MediaType.APPLICATION_JSON,
                        schema = @Schema(implementation = ApiDoc.RevocationRequest.class))
            })
    @APIResponse(responseCode = "200", description = "Revoked, or the token was unknown or another client's")
    @APIResponse(
            responseCode = "400",
            description = "invalid_request",
            content = @Content(schema = @Schema(implementation = ErrorResponse.class)))
    @APIResponse(responseCode = "401", description = "invalid_client: unknown client_id")
    @APIResponse(responseCode = "503", description = "temporarily_unavailable: session store down; see Retry-After")
    @APIResponse(responseCode = "429", description = "temporarily_unavailable: rate limit reached; see Retry-After")
    public Uni<Response> revokeForm(
            byte[] form,
            @HeaderParam("Content-Type") String type,
            @HeaderParam("DPoP") List<String> dpop,
            HttpServerRequest http) {
        return revoke(() -> FormBody.parse(form, type), dpop, http);
    }

    @POST
    @Path("/revoke")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(hidden = true)
    public Uni<Response> revokeJson(byte[] body, @HeaderParam("DPoP") List<String> dpop, HttpServerRequest http) {
        return revoke(() -> jsonParams(body), dpop, http);
    }

    /** Runs on the event loop: the use cases never block (their rare blocking steps move to worker threads). */
    private Uni<Response> token(Supplier<Params> request, List<String> dpop, HttpServerRequest http) {
        Operations.Operation op = operations.begin("token");
        return op.track(Uni.createFrom()
                .deferred(() -> {
                    Params params = request.get();
                    String grantType = params.required("grant_type");
                    GrantHandler grant = grants.get(grantType);
                    if (grant != null) {
                        op.name(grant.operation());
                    }
                    RegisteredClient client = client(params, op);
                    if (grant == null) {
                        throw new BrokerException.UnsupportedGrantType("grant_type must be one of " + grants.keySet());
                    }
                    RequestFacts facts = new RequestFacts("POST", "/oauth2/token", single(dpop));
                    return rateLimits
                            .admit(client, http)
                            .chain(admission -> grant.handle(client, params, facts)
                                    .onFailure(e ->
                                            e instanceof BrokerException.InvalidGrant && grant.invalidGrantCostsExtra())
                                    .call(() -> rateLimits.failedExchange(admission)));
                })
                .map(result -> NoStore.ok(TokenResponse.of(result))));
    }

    /** RFC 9449 §4.3: at most one DPoP header. */
    private static String single(List<String> header) {
        if (header == null || header.isEmpty()) {
            return null;
        }
        if (header.size() > 1) {
            throw new BrokerException.InvalidDpopProof("Only one DPoP header is allowed");
        }
        return header.get(0);
    }

    private Uni<Response> revoke(Supplier<Params> request, List<String> dpop, HttpServerRequest http) {
        Operations.Operation op = operations.begin("revoke");
        return op.track(Uni.createFrom()
                .deferred(() -> {
                    Params params = request.get();
                    RegisteredClient client = client(params, op);
                    // Any token is well-formed here (RFC 7009 §2.2): what is not one of our handles is simply unknown.
                    String token = params.required("token");
                    // RFC 7009 §2.1: the hint may be ignored; we only ever hold refresh tokens.
                    params.optional("token_type_hint");
                    RequestFacts facts = new RequestFacts("POST", "/oauth2/revoke", single(dpop));
                    return rateLimits
                            .admit(client, http)
                            .chain(() -> this.dpop.keyIfPresent(client, facts))
                            .chain(dpopKey -> endSession.revoke(client, token, dpopKey));
                    // RFC 7009 §2.2: the status is the answer; no body, so no Content-Type that promises JSON.
                })
                .map(revoked -> NoStore.headers(Response.ok()).build()));
    }

    private RegisteredClient client(Params params, Operations.Operation op) {
        String clientId = params.required("client_id");
        RegisteredClient client =
                clients.byClientId(clientId).orElseThrow(() -> new BrokerException.InvalidClient("Unknown client_id"));
        op.client(client.name());
        return client;
    }

    /** Jackson reads the bytes itself, so bytes that are not UTF-8 are refused rather than replaced. */
    private Params jsonParams(byte[] body) {
        JsonNode node;
        try {
            node = strictJson.readTree(body == null ? new byte[0] : body);
        } catch (Exception e) {
            throw new BrokerException.InvalidRequest("Body is not a JSON object without duplicate fields");
        }
        if (node == null || !node.isObject()) {
            throw new BrokerException.InvalidRequest("Body must be a JSON object");
        }
        Map<String, List<String>> values = new LinkedHashMap<>();
        node.properties().forEach(field -> {
            if (!field.getValue().isTextual()) {
                // Not the field's name: it is the caller's text, and error descriptions carry only ours.
                throw new BrokerException.InvalidRequest("Every field must be a string");
            }
            values.put(field.getKey(), List.of(field.getValue().asText()));
        });
        return new Params(values);
    }
}
