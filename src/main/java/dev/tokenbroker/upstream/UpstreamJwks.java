package dev.tokenbroker.upstream;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;

import org.eclipse.microprofile.jwt.JsonWebToken;
import org.jboss.logging.Logger;
import org.jose4j.lang.UnresolvableKeyException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.upstream.UpstreamHttp.Reply;
import io.smallrye.jwt.auth.principal.DefaultJWTParser;
import io.smallrye.jwt.auth.principal.JWTAuthContextInfo;
import io.smallrye.jwt.auth.principal.ParseException;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpMethod;

/**
 * One upstream's signing keys: its JWKS from discovery, fetched through {@link UpstreamHttp} like every other upstream
 * call (its timeouts, size bound and connection settings), and kept. A token signed with a key id the kept set lacks
 * makes it fetch the set again; a set older than {@link #MAX_AGE} is fetched again on its next use, so keys the
 * upstream withdrew stop verifying. Fetches, failed ones included, happen at most once per
 * {@code broker.backchannel-logout.jwks-refetch-interval}, so forged key ids or an unreachable upstream cannot make it
 * hammer the upstream. Verification (SmallRye JWT) uses the kept set as it is: it fetches nothing.
 *
 * <p>Fetching blocks: call {@link #parse} on a worker thread.
 */
class UpstreamJwks {

    private static final Logger LOG = Logger.getLogger(UpstreamJwks.class);
    static final Duration MAX_AGE = Duration.ofHours(1);
    /** How long kept keys still verify while they cannot be fetched again; then verification fails closed. */
    static final Duration MAX_STALE = Duration.ofHours(24);

    /** A fetched set: where it came from, its JSON, when it came. */
    private record Keys(URI uri, String json, long fetchedAtNanos) {
        boolean from(URI source) {
            return uri.equals(source);
        }

        long age() {
            return System.nanoTime() - fetchedAtNanos;
        }
    }

    /** A parser for one kind of token, built on one set of keys. */
    private record Parser(Keys keys, DefaultJWTParser parser) {}

    private final Function<String, Uni<Reply>> get;
    private final Duration callBudget;
    private final long refetchIntervalNanos;
    private final ObjectMapper json;
    private volatile Keys keys;
    // When the last fetch was tried, failed or not; guarded by this.
    private boolean attempted;
    private long lastAttemptNanos;
    private final Map<String, Parser> parsers = new ConcurrentHashMap<>();

    UpstreamJwks(UpstreamHttp http, Duration refetchInterval, ObjectMapper json) {
        this(url -> http.send(http.request(HttpMethod.GET, url), null), http.callBudget(), refetchInterval, json);
    }

    /** @param get the GET of a URL, read up to the upstream size bound (tests publish key sets through it) */
    UpstreamJwks(Function<String, Uni<Reply>> get, Duration callBudget, Duration refetchInterval, ObjectMapper json) {
        this.get = get;
        this.callBudget = callBudget;
        this.refetchIntervalNanos = refetchInterval.toNanos();
        this.json = json;
    }

    /**
     * Verifies {@code token} against the keys at {@code jwksUri}.
     *
     * @param kind names the settings: parsers are kept per kind and set of keys
     * @param settings issuer, audience, algorithms and so on, applied to a fresh {@link JWTAuthContextInfo}
     * @throws ParseException when the token does not verify
     * @throws BrokerException.UpstreamUnavailable when no keys could be fetched
     */
    JsonWebToken parse(String token, URI jwksUri, String kind, Consumer<JWTAuthContextInfo> settings)
            throws ParseException {
        Keys used = keys(jwksUri);
        try {
            return parser(used, kind, settings).parse(token);
        } catch (ParseException e) {
            if (!unknownKey(e)) {
                throw e;
            }
            Keys fresh = refetched(used);
            if (fresh == null) {
                throw e;
            }
            return parser(fresh, kind, settings).parse(token);
        }
    }

    private DefaultJWTParser parser(Keys keys, String kind, Consumer<JWTAuthContextInfo> settings) {
        return parsers.compute(kind, (k, existing) -> {
                    if (existing != null && existing.keys() == keys) {
                        return existing;
                    }
                    JWTAuthContextInfo info = new JWTAuthContextInfo();
                    info.setPublicKeyContent(keys.json());
                    settings.accept(info);
                    return new Parser(keys, new DefaultJWTParser(info));
                })
                .parser();
    }

    /**
     * The kept keys when they came from {@code uri} and are younger than {@link #MAX_AGE}, else fetched ones. When that
     * fetch fails, keys younger than {@link #MAX_STALE} still serve; older ones, or none, fail closed.
     */
    private Keys keys(URI uri) {
        Keys current = keys;
        if (current != null && current.from(uri) && current.age() < MAX_AGE.toNanos()) {
            return current;
        }
        synchronized (this) {
            current = keys;
            boolean fallback = current != null && current.from(uri) && current.age() < MAX_STALE.toNanos();
            if (fallback && current.age() < MAX_AGE.toNanos()) {
                return current;
            }
            try {
                Keys fetched = attempt(uri);
                if (fetched != null) {
                    keys = fetched;
                    return fetched;
                }
            } catch (BrokerException.UpstreamUnavailable e) {
                if (!fallback) {
                    throw e;
                }
                LOG.warnf("Could not fetch the upstream's JWKS again, keeping the old keys: %s", e.logDetail());
                return current;
            }
            if (!fallback) {
                throw new BrokerException.UpstreamUnavailable(
                        "no upstream JWKS: the last fetch failed less than jwks-refetch-interval ago", null, false);
            }
            return current;
        }
    }

    /**
     * Keys fetched again after {@code stale} lacked a key id; null when the last attempt is too recent for another, or
     * it fails: the token is refused as signed by an unknown key.
     */
    private synchronized Keys refetched(Keys stale) {
        Keys current = keys;
        if (current != stale) {
            return current;
        }
        try {
            Keys fetched = attempt(stale.uri());
            if (fetched != null) {
                keys = fetched;
            }
            return fetched;
        } catch (BrokerException.UpstreamUnavailable e) {
            LOG.warnf("Could not fetch the upstream's JWKS for an unknown key id: %s", e.logDetail());
            return null;
        }
    }

    /**
     * A fetch, or null when the last one (failed or not) was less than the refetch interval ago: however many tokens
     * name unknown keys or arrive while the upstream is down, the upstream sees at most one fetch per interval.
     */
    private Keys attempt(URI uri) {
        long now = System.nanoTime();
        if (attempted && now - lastAttemptNanos < refetchIntervalNanos) {
            return null;
        }
        attempted = true;
        lastAttemptNanos = now;
        return fetch(uri);
    }

    private Keys fetch(URI uri) {
        Reply reply;
        try {
            reply = get.apply(uri.toString()).await().atMost(callBudget);
        } catch (BrokerException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new BrokerException.UpstreamUnavailable(
                    "the upstream's JWKS could not be fetched: " + e.getClass().getSimpleName(), e, false);
        }
        if (reply.status() != 200 || reply.body() == null) {
            throw new BrokerException.UpstreamUnavailable(
                    "the upstream's JWKS answered " + reply.status(), null, false);
        }
        JsonNode set;
        try {
            set = json.readTree(reply.body());
        } catch (Exception e) {
            set = null;
        }
        if (set == null || !set.path("keys").isArray()) {
            throw new BrokerException.UpstreamUnavailable("the upstream's JWKS is not a JSON key set", null, false);
        }
        return new Keys(uri, reply.body(), System.nanoTime());
    }

    /** Whether verification failed because no key of the set has the token's key id. */
    private static boolean unknownKey(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnresolvableKeyException) {
                return true;
            }
        }
        return false;
    }
}
