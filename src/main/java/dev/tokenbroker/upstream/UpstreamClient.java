package dev.tokenbroker.upstream;

import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLHandshakeException;

import jakarta.inject.Singleton;
import jakarta.ws.rs.core.Form;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.upstream.UpstreamHttp.Reply;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.smallrye.mutiny.Uni;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.impl.NoStackTraceTimeoutException;

/**
 * The broker's OAuth client of the upstream. Owns the call policy: token calls are never retried
 * (a failed code exchange burns the code upstream; a repeated refresh may look like token theft), and
 * every failure becomes a {@link BrokerException} that says what the front end should be told.
 */
@Singleton
public class UpstreamClient {

    private final Upstreams upstreams;
    private final ObjectMapper json;
    private final UpstreamTimers timers;
    /** How each client authenticates, by client id, made once: credentials do not change while the broker runs. */
    private final Map<String, ClientAuthentication> authentications = new ConcurrentHashMap<>();

    UpstreamClient(Upstreams upstreams, ObjectMapper json, MeterRegistry registry) {
        this.upstreams = upstreams;
        this.json = json;
        this.timers = new UpstreamTimers(registry);
    }

    /**
     * The longest any upstream call may take, start to end: connect timeout plus read timeout, of the upstream where
     * that is longest. The HTTP client's own read timeout only fires on silence, so a slowly trickling answer or a
     * long wait for a pooled connection is cut off here; refresh locks rely on this bound.
     */
    public Duration callBudget() {
        return upstreams.callBudget();
    }

    /** RFC 6749 §4.1.3 with RFC 7636 {@code code_verifier}; fails with a {@link BrokerException}. */
    public Uni<UpstreamTokenResponse> exchangeCode(
            RegisteredClient client, String code, String redirectUri, String codeVerifier) {
        Form form = new Form()
                .param("grant_type", "authorization_code")
                .param("code", code)
                .param("redirect_uri", redirectUri)
                .param("code_verifier", codeVerifier);
        return tokenCall(client, form);
    }

    /** RFC 6749 §6; {@code scope} may be null (same scope as granted). Fails with a {@link BrokerException}. */
    public Uni<UpstreamTokenResponse> refresh(RegisteredClient client, String refreshToken, String scope) {
        Form form = new Form().param("grant_type", "refresh_token").param("refresh_token", refreshToken);
        if (scope != null) {
            form.param("scope", scope);
        }
        return tokenCall(client, form);
    }

    /**
     * RFC 7009 revocation of an upstream refresh token.
     *
     * @return false when no revocation endpoint is known; fails with a {@link BrokerException} when the upstream
     *     did not confirm
     */
    public Uni<Boolean> revokeRefreshToken(RegisteredClient client, String refreshToken) {
        Upstream upstream = upstreams.of(client);
        UpstreamEndpoints endpoints = upstream.metadata().current();
        Optional<URI> endpoint = endpoints.revocationEndpoint();
        if (endpoint.isEmpty()) {
            return Uni.createFrom().item(false);
        }
        Form form = new Form().param("token", refreshToken).param("token_type_hint", "refresh_token");
        return send("revocation", upstream, endpoints, endpoint.get(), client, form)
                .map(reply -> {
                    if (reply.status() != 200) {
                        throw classifyError(reply, "revocation");
                    }
                    return true;
                });
    }

    /**
     * RFC 9126: pushes an authorization request's parameters to the upstream's PAR endpoint, authenticated as the
     * client. Fails with a {@link BrokerException}: {@code invalid_scope} passes on, any other refusal is the broker's
     * configuration (502). Anyone can start a login, so at most a quarter of the upstream's connection pool may wait
     * on PAR calls at once ({@link BrokerException.Overloaded} beyond): a slow PAR endpoint cannot starve refreshes.
     */
    public Uni<PushedAuthorizationRequest> pushAuthorizationRequest(
            RegisteredClient client, URI endpoint, Map<String, String> parameters) {
        Form form = new Form();
        parameters.forEach(form::param);
        return Uni.createFrom()
                .deferred(() -> {
                    Upstream upstream = upstreams.of(client);
                    AtomicInteger pushesInFlight = upstream.pushesInFlight();
                    int maxPushesInFlight =
                            Math.max(1, upstream.configured().settings().connectionPoolSize() / 4);
                    if (pushesInFlight.incrementAndGet() > maxPushesInFlight) {
                        pushesInFlight.decrementAndGet();
                        return Uni.createFrom()
                                .failure(new BrokerException.Overloaded(
                                        "more than " + maxPushesInFlight + " pushed authorization requests in flight"));
                    }
                    return send("par", upstream, upstream.metadata().current(), endpoint, client, form)
                            .onTermination()
                            .invoke(pushesInFlight::decrementAndGet);
                })
                .map(reply -> {
                    // 201 per RFC 9126 §2.2; some servers answer 200.
                    if (reply.status() != 201 && reply.status() != 200) {
                        BrokerException refused = classifyError(reply, "pushed authorization request");
                        // No grant is involved: an invalid_grant here is the broker's request, not the user's session.
                        throw refused instanceof BrokerException.InvalidGrant
                                ? new BrokerException.UpstreamRejectedBroker(
                                        "upstream pushed authorization request endpoint answered invalid_grant")
                                : refused;
                    }
                    PushedAuthorizationRequest pushed = parse(reply.body(), PushedAuthorizationRequest.class);
                    if (pushed == null
                            || pushed.requestUri() == null
                            || !pushed.requestUri().matches("[\\x21-\\x7E]{1,2048}")) {
                        throw new BrokerException.UpstreamUnavailable(
                                "upstream pushed authorization request answer has no usable request_uri", null, false);
                    }
                    return pushed;
                });
    }

    private Uni<UpstreamTokenResponse> tokenCall(RegisteredClient client, Form form) {
        return Uni.createFrom()
                .deferred(() -> {
                    Upstream upstream = upstreams.of(client);
                    UpstreamEndpoints endpoints = upstream.metadata().current();
                    return send("token", upstream, endpoints, endpoints.tokenEndpoint(), client, form);
                })
                .map(reply -> {
                    if (reply.status() != 200) {
                        throw classifyError(reply, "token");
                    }
                    UpstreamTokenResponse token = parse(reply.body(), UpstreamTokenResponse.class);
                    if (token == null
                            || token.accessToken() == null
                            || token.accessToken().isEmpty()) {
                        // The upstream answered 200: it may well have rotated the refresh token.
                        throw new BrokerException.UpstreamUnavailable(
                                "upstream token response has no access_token", null, true);
                    }
                    return token;
                });
    }

    /**
     * One call, never retried, bounded as a whole by the upstream's call budget; every failure becomes a
     * {@link BrokerException} that says whether the request may have reached the upstream.
     */
    private Uni<Reply> send(
            String name,
            Upstream upstream,
            UpstreamEndpoints endpoints,
            URI endpoint,
            RegisteredClient client,
            Form form) {
        UpstreamHttp http = upstream.http();
        Duration callBudget = http.callBudget();
        RequestOptions request = http.request(HttpMethod.POST, endpoint.toString())
                .putHeader(HttpHeaders.CONTENT_TYPE, MediaType.APPLICATION_FORM_URLENCODED);
        ClientAuthentication authentication =
                authentications.computeIfAbsent(client.clientId(), id -> ClientAuthentication.of(client));
        authentication.apply(endpoints, endpoint, request, form);
        long started = System.nanoTime();
        // A form POST, its answer read up to broker.upstream.max-response-size (UpstreamHttp); read timeout: the
        // request's idle timeout; the whole call is bounded here.
        return http.send(authentication.clientCertificate(), request, Buffer.buffer(encode(form)))
                .ifNoItem()
                .after(callBudget)
                .failWith(() -> new BrokerException.UpstreamTimeout(
                        "upstream " + endpoint + " did not answer within " + callBudget, null))
                .onFailure(e -> !(e instanceof BrokerException))
                .transform(e -> classifyFailure(endpoint.toString(), e))
                .onItemOrFailure()
                .invoke((reply, failure) -> {
                    String outcome = reply != null
                            ? reply.status() / 100 + "xx"
                            : failure instanceof BrokerException.UpstreamTimeout ? "timeout" : "io_error";
                    timers.timer(upstream.id(), name, outcome)
                            .record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
                });
    }

    private static BrokerException classifyFailure(String endpoint, Throwable e) {
        if (!wasSent(e)) {
            return new BrokerException.UpstreamUnavailable(
                    "upstream " + endpoint + " not reached: "
                            + (e instanceof UpstreamHttp.NoConnection ? e.getCause() : e)
                                    .getClass()
                                    .getSimpleName(),
                    e,
                    false);
        }
        if (isTimeout(e)) {
            return new BrokerException.UpstreamTimeout("upstream " + endpoint + " timed out", e);
        }
        return new BrokerException.UpstreamUnavailable(
                "upstream " + endpoint + " failed while answering: "
                        + e.getClass().getSimpleName(),
                e,
                true);
    }

    /** application/x-www-form-urlencoded, each name and value encoded (RFC 6749 Appendix B). */
    private static String encode(Form form) {
        StringBuilder out = new StringBuilder();
        form.asMap()
                .forEach((name, values) -> values.forEach(value -> {
                    if (out.length() > 0) {
                        out.append('&');
                    }
                    out.append(URLEncoder.encode(name, StandardCharsets.UTF_8))
                            .append('=')
                            .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
                }));
        return out.toString();
    }

    private BrokerException classifyError(Reply reply, String call) {
        int status = reply.status();
        if (status >= 500 || (status != 400 && status != 401)) {
            // A gateway's 502/503/504 or the server's 500 may come after the upstream processed the request.
            return new BrokerException.UpstreamUnavailable(
                    "upstream " + call + " endpoint answered HTTP " + status, null, true);
        }
        UpstreamErrorResponse error = parse(reply.body(), UpstreamErrorResponse.class);
        if (status == 401 && (error == null || error.error() == null)) {
            // RFC 6749 §5.2 style 401 with only WWW-Authenticate: our client credentials were refused.
            return new BrokerException.UpstreamRejectedBroker("upstream " + call + " endpoint answered HTTP 401");
        }
        if (error == null || error.error() == null) {
            return new BrokerException.UpstreamUnavailable(
                    "upstream " + call + " endpoint answered HTTP " + status + " without an OAuth error", null, true);
        }
        // The upstream's text goes to the log: printable ASCII only, bounded, so it cannot forge log lines.
        String code = error.error().length() > 64 || !error.error().matches("[\\x20-\\x7E]*")
                ? "(unprintable)"
                : error.error();
        String detail = "upstream " + call + " endpoint answered HTTP " + status + " error=" + code;
        return switch (error.error()) {
            case "invalid_grant" ->
                new BrokerException.InvalidGrant("The authorization grant is invalid, expired or revoked");
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

    /**
     * False only when the request certainly never left: the connection could not be opened (refused, DNS, TLS
     * handshake, connect timeout) or no pooled connection became free. Anything else (a reset, a read timeout, the
     * call budget running out) may have reached the upstream, which may have spent the refresh token.
     */
    static boolean wasSent(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            // Netty's ConnectTimeoutException and AnnotatedConnectException are ConnectExceptions.
            if (t instanceof UpstreamHttp.NoConnection
                    || t instanceof ConnectException
                    || t instanceof UnknownHostException
                    || t instanceof SSLHandshakeException
                    || t instanceof ConnectionPoolTooBusyException) {
                return false;
            }
        }
        return true;
    }

    /** A request that ran out of time after it was sent (504), as opposed to one that failed outright (502). */
    static boolean isTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof TimeoutException
                    || t instanceof io.smallrye.mutiny.TimeoutException
                    || t instanceof NoStackTraceTimeoutException
                    || t instanceof SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    /** Timers by endpoint and outcome, built once rather than looked up by name on every call. */
    private static final class UpstreamTimers {
        private final MeterRegistry registry;
        private final Map<String, Timer> timers = new ConcurrentHashMap<>();

        UpstreamTimers(MeterRegistry registry) {
            this.registry = registry;
        }

        Timer timer(String upstream, String endpoint, String outcome) {
            return timers.computeIfAbsent(
                    upstream + " " + endpoint + " " + outcome,
                    k -> Timer.builder("broker.upstream.requests")
                            .description("Calls to the upstreams by upstream id, endpoint and outcome (status class,"
                                    + " timeout, io_error)")
                            .tag("upstream", upstream)
                            .tag("endpoint", endpoint)
                            .tag("outcome", outcome)
                            .register(registry));
        }
    }
}
