package dev.tokenbroker.upstream;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeoutException;

import jakarta.inject.Singleton;
import jakarta.ws.rs.core.Form;
import jakarta.ws.rs.core.Response;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.error.BrokerException;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The broker's OAuth client of the upstream. Owns the call policy: token calls are never retried
 * (a failed code exchange burns the code upstream; a repeated refresh may look like token theft), and
 * every failure becomes a {@link BrokerException} that says what the front end should be told.
 */
@Singleton
public class UpstreamClient {

    private final UpstreamApi api;
    private final UpstreamMetadata metadata;
    private final ObjectMapper json;
    private final MeterRegistry registry;
    private final Duration callBudget;

    UpstreamClient(UpstreamApi api, UpstreamMetadata metadata, ObjectMapper json, MeterRegistry registry,
            BrokerConfig config) {
        this.api = api;
        this.metadata = metadata;
        this.json = json;
        this.registry = registry;
        this.callBudget = config.upstream().connectTimeout().plus(config.upstream().readTimeout());
    }

    /**
     * The longest any upstream call may take, start to end: connect timeout plus read timeout. The HTTP client's
     * own read timeout only fires on silence, so a slowly trickling answer or a long wait for a pooled
     * connection is cut off here; refresh locks rely on this bound.
     */
    public Duration callBudget() {
        return callBudget;
    }

    /** RFC 6749 §4.1.3 with RFC 7636 {@code code_verifier}. */
    public UpstreamTokenResponse exchangeCode(RegisteredClient client, String code, String redirectUri,
            String codeVerifier) {
        Form form = new Form()
                .param("grant_type", "authorization_code")
                .param("code", code)
                .param("redirect_uri", redirectUri)
                .param("code_verifier", codeVerifier);
        return tokenCall(client, form);
    }

    /** RFC 6749 §6; {@code scope} may be null (same scope as granted). */
    public UpstreamTokenResponse refresh(RegisteredClient client, String refreshToken, String scope) {
        Form form = new Form()
                .param("grant_type", "refresh_token")
                .param("refresh_token", refreshToken);
        if (scope != null) {
            form.param("scope", scope);
        }
        return tokenCall(client, form);
    }

    /**
     * RFC 7009 revocation of an upstream refresh token.
     *
     * @return false when no revocation endpoint is known
     * @throws BrokerException when the upstream did not confirm
     */
    public boolean revokeRefreshToken(RegisteredClient client, String refreshToken) {
        var endpoint = metadata.current().revocationEndpoint();
        if (endpoint.isEmpty()) {
            return false;
        }
        Form form = new Form().param("token", refreshToken).param("token_type_hint", "refresh_token");
        Reply reply = send("revocation", endpoint.get().toString(), client, form);
        if (reply.status() != 200) {
            throw classifyError(reply, "revocation");
        }
        return true;
    }

    private UpstreamTokenResponse tokenCall(RegisteredClient client, Form form) {
        Reply reply = send("token", metadata.current().tokenEndpoint().toString(), client, form);
        if (reply.status() != 200) {
            throw classifyError(reply, "token");
        }
        UpstreamTokenResponse token = parse(reply.body(), UpstreamTokenResponse.class);
        if (token == null || token.accessToken() == null || token.accessToken().isEmpty()) {
            throw new BrokerException.UpstreamUnavailable("upstream token response has no access_token", null);
        }
        return token;
    }

    /** Status and body of an upstream answer; the body is read here so that a broken stream counts as unreachable. */
    private record Reply(int status, String body) {
        @Override
        public String toString() {
            return "Reply[status=" + status + "]";
        }
    }

    private Reply send(String name, String endpoint, RegisteredClient client, Form form) {
        String authorization = null;
        switch (client.authMethod()) {
            case client_secret_basic -> authorization = basicAuthorization(client.clientId(), client.clientSecret());
            case client_secret_post -> form.param("client_id", client.clientId())
                    .param("client_secret", client.clientSecret());
        }
        Timer.Sample sample = Timer.start(registry);
        String outcome = "io_error";
        try (Response response = api.post(endpoint, authorization, form).await().atMost(callBudget)) {
            Reply reply = new Reply(response.getStatus(), response.hasEntity() ? response.readEntity(String.class) : null);
            outcome = reply.status() / 100 + "xx";
            return reply;
        } catch (RuntimeException e) {
            if (isTimeout(e)) {
                outcome = "timeout";
                throw new BrokerException.UpstreamTimeout("upstream " + endpoint + " timed out", e);
            }
            throw new BrokerException.UpstreamUnavailable("upstream " + endpoint + " unreachable", e);
        } finally {
            sample.stop(Timer.builder("broker.upstream.requests")
                    .description("Calls to the upstream by endpoint and outcome (status class, timeout, io_error)")
                    .tag("endpoint", name).tag("outcome", outcome).register(registry));
        }
    }

    /**
     * RFC 6749 §2.3.1: id and secret are each {@code application/x-www-form-urlencoded} before they are
     * joined and base64-encoded, so {@code : + %}, spaces and non-ASCII arrive intact.
     */
    static String basicAuthorization(String clientId, String clientSecret) {
        String pair = URLEncoder.encode(clientId, StandardCharsets.UTF_8) + ":"
                + URLEncoder.encode(clientSecret, StandardCharsets.UTF_8);
        return "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
    }

    private BrokerException classifyError(Reply reply, String call) {
        int status = reply.status();
        if (status >= 500 || (status != 400 && status != 401)) {
            return new BrokerException.UpstreamUnavailable("upstream " + call + " endpoint answered HTTP " + status, null);
        }
        UpstreamErrorResponse error = parse(reply.body(), UpstreamErrorResponse.class);
        if (status == 401 && (error == null || error.error() == null)) {
            // RFC 6749 §5.2 style 401 with only WWW-Authenticate: our client credentials were refused.
            return new BrokerException.UpstreamRejectedBroker("upstream " + call + " endpoint answered HTTP 401");
        }
        if (error == null || error.error() == null) {
            return new BrokerException.UpstreamUnavailable(
                    "upstream " + call + " endpoint answered HTTP " + status + " without an OAuth error", null);
        }
        String detail = "upstream " + call + " endpoint answered HTTP " + status + " error=" + error.error();
        return switch (error.error()) {
            case "invalid_grant" -> new BrokerException.InvalidGrant(
                    "The authorization grant is invalid, expired or revoked");
            case "invalid_scope" -> new BrokerException.InvalidScope("The requested scope is invalid");
            // Anything else means the broker's own registration or request is wrong: an operator must act.
            default -> new BrokerException.UpstreamRejectedBroker(detail);
        };
    }

    /** Null when the body is not the JSON object we expect (HTML error pages, truncated bodies). */
    private <T> T parse(String body, Class<T> type) {
        try {
            return body == null || body.isBlank() ? null : json.readValue(body, type);
        } catch (Exception e) {
            return null;
        }
    }

    /** A call that ran out of time (504), as opposed to one that could not connect (502). */
    private static boolean isTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getClass().getSimpleName().contains("ConnectTimeout")) {
                return false;
            }
            if (t instanceof TimeoutException || t instanceof java.net.SocketTimeoutException
                    || t.getClass().getName().contains("Timeout")) {
                return true;
            }
        }
        return false;
    }
}
