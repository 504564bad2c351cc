package dev.tokenbroker.upstream;

import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.ConfiguredUpstream;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.error.BrokerException;
import io.quarkus.runtime.Startup;
import io.vertx.core.Vertx;

/**
 * Every configured upstream ({@link ConfiguredUpstream#all}), built at start: discovery begins at once for each. A
 * client is served by its own upstream only; a logout token is verified by the upstream its issuer names.
 */
@Startup
@Singleton
public class Upstreams {

    private final Map<String, Upstream> byId = new LinkedHashMap<>();

    @Inject
    Upstreams(Vertx vertx, BrokerConfig config, ObjectMapper json) {
        this(ConfiguredUpstream.all(config).stream()
                .map(configured -> {
                    UpstreamHttp http = new UpstreamHttp(vertx, config, configured);
                    return new Upstream(
                            configured,
                            http,
                            new UpstreamMetadata(configured, http, json),
                            new UpstreamJwks(http, config.backchannelLogout().jwksRefetchInterval(), json),
                            new AtomicInteger());
                })
                .toList());
    }

    /** These upstreams (tests build them without a server). */
    Upstreams(List<Upstream> upstreams) {
        upstreams.forEach(upstream -> byId.put(upstream.id(), upstream));
    }

    /** The client's upstream; {@code Clients} refuses at start a client whose upstream is not configured. */
    Upstream of(RegisteredClient client) {
        return byId(client.upstream());
    }

    Upstream byId(String id) {
        Upstream upstream = byId.get(id);
        if (upstream == null) {
            throw new IllegalStateException("no upstream '" + id + "' is configured");
        }
        return upstream;
    }

    /**
     * The client's upstream's endpoints.
     *
     * @throws dev.tokenbroker.error.BrokerException.UpstreamUnavailable while its discovery has not succeeded yet
     */
    public UpstreamEndpoints endpointsOf(RegisteredClient client) {
        return of(client).metadata().current();
    }

    /**
     * RFC 9207: the {@code iss} of an authorization response for {@code client} must be its upstream's issuer, and
     * may be missing only if that upstream does not say it sends one. With several upstreams this is what tells a
     * response of one upstream from one of another (mix-up, RFC 9700 §4.4).
     *
     * @throws BrokerException.InvalidRequest when it does not match, or is missing though the upstream sends it
     * @throws BrokerException.UpstreamUnavailable while the upstream's discovery (which says whether it sends one, and
     *     the issuer exactly as it writes it) has not succeeded on this replica
     */
    public void checkAuthorizationResponseIssuer(RegisteredClient client, String iss) {
        UpstreamEndpoints endpoints = endpointsOf(client);
        if (endpoints.jwksUri().isEmpty()) {
            throw new BrokerException.UpstreamUnavailable(
                    "the upstream's discovery has not succeeded yet: an authorization response cannot be checked",
                    null,
                    false);
        }
        if (iss == null
                ? endpoints.sendsIssuer()
                : !endpoints.issuer().filter(iss::equals).isPresent()) {
            throw new BrokerException.InvalidRequest(
                    "iss of the authorization response is not the issuer of the client's upstream (RFC 9207)");
        }
    }

    Collection<Upstream> all() {
        return byId.values();
    }

    /** The upstream whose discovered or configured issuer is exactly {@code issuer}. */
    Optional<Upstream> byIssuer(String issuer) {
        return byId.values().stream()
                .filter(upstream -> upstream.metadata().loaded()
                        && upstream.metadata()
                                .current()
                                .issuer()
                                .filter(issuer::equals)
                                .isPresent())
                .findFirst();
    }

    /** The longest call budget of any upstream: what refresh locks and the outbox's claims must outlast. */
    public Duration callBudget() {
        return byId.values().stream()
                .map(upstream -> upstream.http().callBudget())
                .max(Duration::compareTo)
                .orElseThrow();
    }

    @PreDestroy
    void stop() {
        byId.values().forEach(upstream -> upstream.metadata().stop());
    }
}
