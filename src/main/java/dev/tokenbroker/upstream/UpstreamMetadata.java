package dev.tokenbroker.upstream;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import javax.net.ssl.SSLHandshakeException;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.ConfiguredUpstream;
import dev.tokenbroker.config.SecureUrls;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.upstream.UpstreamHttp.Reply;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpMethod;

/**
 * One upstream's endpoints. Explicit {@code *-endpoint} settings win; anything else comes from OpenID discovery,
 * fetched in the background and retried until it succeeds, so the broker starts (not ready) while the upstream is
 * briefly unreachable.
 */
class UpstreamMetadata {

    private static final Logger LOG = Logger.getLogger(UpstreamMetadata.class);

    private final ConfiguredUpstream upstream;
    private final BrokerConfig.Upstream config;
    private final Function<String, Uni<Reply>> get;
    private final Duration callBudget;
    private final ObjectMapper json;
    private final AtomicReference<UpstreamEndpoints> endpoints = new AtomicReference<>();
    private final ScheduledExecutorService discovery;

    UpstreamMetadata(ConfiguredUpstream upstream, UpstreamHttp http, ObjectMapper json) {
        this(upstream, url -> http.send(http.request(HttpMethod.GET, url), null), json);
    }

    /**
     * @param get the GET of a URL, its answer read up to {@code max-response-size} and no further (tests publish
     *     documents through it without a server)
     */
    UpstreamMetadata(ConfiguredUpstream upstream, Function<String, Uni<Reply>> get, ObjectMapper json) {
        this.upstream = upstream;
        this.config = upstream.settings();
        this.get = get;
        this.callBudget = config.connectTimeout().plus(config.readTimeout());
        this.json = json;
        if (config.issuer().isEmpty() && config.tokenEndpoint().isEmpty()) {
            throw new IllegalArgumentException(
                    upstream.property("issuer") + " or " + upstream.property("token-endpoint") + " is required");
        }
        if (this.config.tokenEndpoint().isPresent()) {
            // Usable at once; discovery, if configured, only adds what the configuration left out.
            endpoints.set(new UpstreamEndpoints(
                    this.config.issuer().map(UpstreamMetadata::issuerOf),
                    this.config.tokenEndpoint().get(),
                    this.config.revocationEndpoint()));
        }
        if (this.config.issuer().isEmpty()) {
            discovery = null;
            warnIfNoRevocation(endpoints.get());
        } else {
            discovery = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "upstream-discovery-" + upstream.id());
                t.setDaemon(true);
                return t;
            });
            // The first attempt runs before startup completes, so a reachable upstream means ready at once.
            discover();
        }
    }

    /** @throws BrokerException.UpstreamUnavailable while discovery has not succeeded yet */
    public UpstreamEndpoints current() {
        UpstreamEndpoints current = endpoints.get();
        if (current == null) {
            throw new BrokerException.UpstreamUnavailable("upstream discovery has not succeeded yet", null, false);
        }
        return current;
    }

    public boolean loaded() {
        return endpoints.get() != null;
    }

    private void discover() {
        String issuer = issuerOf(config.issuer().get());
        String url = issuer + "/.well-known/openid-configuration";
        try {
            // Runs on the startup thread and then on the discovery thread, never on an event loop: it may block.
            Reply reply = get.apply(url).await().atMost(callBudget);
            if (reply.status() != 200) {
                throw new IllegalStateException("HTTP " + reply.status());
            }
            JsonNode doc = json.readTree(reply.body() == null ? "" : reply.body());
            // Compared without a trailing slash (configured either way), kept as advertised: tokens carry that exact
            // string in iss (Auth0's ends in '/'), and the JWT checks compare it exactly.
            String advertised = doc.path("issuer").asText("");
            if (!issuer.equals(stripSlash(advertised))) {
                throw new IllegalStateException("document names issuer '" + advertised + "'");
            }
            URI token = config.tokenEndpoint()
                    .orElseGet(() -> uri(doc, "token_endpoint")
                            .orElseThrow(() -> new IllegalStateException("no token_endpoint")));
            UpstreamEndpoints discovered = new UpstreamEndpoints(
                    Optional.of(advertised),
                    token,
                    config.revocationEndpoint().or(() -> uri(doc, "revocation_endpoint")),
                    uri(doc, "jwks_uri"),
                    uri(doc, "authorization_endpoint"),
                    uri(doc, "end_session_endpoint"),
                    uri(doc, "pushed_authorization_request_endpoint"),
                    doc.path("authorization_response_iss_parameter_supported").asBoolean(false));
            trusted("token_endpoint", discovered.tokenEndpoint());
            discovered.revocationEndpoint().ifPresent(u -> trusted("revocation_endpoint", u));
            discovered.jwksUri().ifPresent(u -> trusted("jwks_uri", u));
            discovered.authorizationEndpoint().ifPresent(u -> trusted("authorization_endpoint", u));
            discovered.endSessionEndpoint().ifPresent(u -> trusted("end_session_endpoint", u));
            discovered = withoutUntrustedPar(discovered);
            endpoints.set(discovered);
            LOG.infof(
                    "Upstream discovery from %s loaded: token endpoint %s, revocation endpoint %s, JWKS %s",
                    url,
                    token,
                    discovered.revocationEndpoint().map(URI::toString).orElse("none"),
                    discovered.jwksUri().map(URI::toString).orElse("none"));
            warnIfNoRevocation(discovered);
            discovery.shutdown();
        } catch (Exception e) {
            LOG.warnf(
                    "Upstream discovery from %s failed (%s)%s; retrying in %s",
                    url,
                    e instanceof BrokerException b ? b.logDetail() : e.toString(),
                    untrusted(e)
                            ? ": the upstream's TLS certificate is not trusted; if a private CA issued it, list that"
                                    + " CA in " + upstream.property("trust-certificates")
                            : "",
                    config.discoveryRetryInterval());
            var unused = discovery.schedule(
                    this::discover, config.discoveryRetryInterval().toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private static boolean untrusted(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SSLHandshakeException) {
                return true;
            }
        }
        return false;
    }

    /**
     * A discovered endpoint receives the client secret and refresh tokens: it must be https (loopback is exempt, for
     * tests and dev mode; {@link SecureUrls}, the rule configured URLs follow too) and, when
     * {@code allowed-hosts} is set, on one of those hosts.
     */
    /**
     * A PAR endpoint that fails {@link #trusted} is left out with a WARN rather than failing discovery: only clients
     * that push requests need it ({@code par=required} ones then refuse to start a login, {@code auto} ones go without).
     */
    private UpstreamEndpoints withoutUntrustedPar(UpstreamEndpoints discovered) {
        if (discovered.pushedAuthorizationRequestEndpoint().isEmpty()) {
            return discovered;
        }
        try {
            trusted(
                    "pushed_authorization_request_endpoint",
                    discovered.pushedAuthorizationRequestEndpoint().get());
            return discovered;
        } catch (IllegalStateException e) {
            LOG.warnf("Upstream discovery: %s; logins are not pushed (RFC 9126)", e.getMessage());
            return new UpstreamEndpoints(
                    discovered.issuer(),
                    discovered.tokenEndpoint(),
                    discovered.revocationEndpoint(),
                    discovered.jwksUri(),
                    discovered.authorizationEndpoint(),
                    discovered.endSessionEndpoint(),
                    Optional.empty(),
                    discovered.sendsIssuer());
        }
    }

    private void trusted(String field, URI endpoint) {
        if (!SecureUrls.isSecureOrLoopback(endpoint)) {
            throw new IllegalStateException(field + " " + endpoint + " is not https");
        }
        String host = endpoint.getHost().toLowerCase(java.util.Locale.ROOT);
        if (config.allowedHosts().isPresent() && !config.allowedHosts().get().contains(host)) {
            throw new IllegalStateException(
                    field + " host '" + host + "' is not in " + upstream.property("allowed-hosts"));
        }
    }

    private void warnIfNoRevocation(UpstreamEndpoints endpoints) {
        if (endpoints.revocationEndpoint().isEmpty()) {
            LOG.warnf(
                    "No upstream revocation endpoint (%s, or discovery): revoking a session and cleaning up after"
                            + " store failures only delete the broker's copy, the upstream refresh token stays valid"
                            + " until it expires",
                    upstream.property("revocation-endpoint"));
        }
    }

    private static String issuerOf(URI issuer) {
        return stripSlash(issuer.toString());
    }

    private static Optional<URI> uri(JsonNode doc, String field) {
        String value = doc.path(field).asText("");
        return value.isEmpty() ? Optional.empty() : Optional.of(URI.create(value));
    }

    private static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    void stop() {
        if (discovery != null) {
            discovery.shutdownNow();
        }
    }
}
