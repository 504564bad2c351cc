package dev.tokenbroker.upstream;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Set;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.jwt.JsonWebToken;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;

import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.error.BrokerException;
import io.smallrye.jwt.algorithm.SignatureAlgorithm;
import io.smallrye.jwt.auth.principal.ParseException;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

/**
 * Reads the user ({@code sub}) and upstream session ({@code sid}) from the ID token, or else the access token, for
 * the session's indexes. When discovery gave a {@code jwks_uri}, signatures are verified against it with any
 * asymmetric algorithm its keys support, the issuer is checked, and an ID token must name the client in {@code aud}
 * (OIDC Core §3.1.3.7). Without a JWKS the claims are read unverified, which §3.1.3.7 allows for tokens received
 * straight from the token endpoint over TLS: that is a JSON read of the payload, not a JOSE operation (through
 * SmallRye's parser it was a tenth of a code exchange's event-loop samples). Opaque tokens simply yield no identity.
 */
@Singleton
public class TokenIdentity {

    private static final Logger LOG = Logger.getLogger(TokenIdentity.class);
    private static final Set<SignatureAlgorithm> ASYMMETRIC = EnumSet.complementOf(
            EnumSet.of(SignatureAlgorithm.HS256, SignatureAlgorithm.HS384, SignatureAlgorithm.HS512));
    /** Parser key for access tokens, whose audience is the resource server, not the client. */
    private static final String ANY_AUDIENCE = "";

    /** The user and upstream session a token speaks for; either may be null. */
    public record Identity(String subject, String sessionId) {
        static final Identity UNKNOWN = new Identity(null, null);
    }

    private final Upstreams upstreams;
    private final ObjectReader strictJson;

    TokenIdentity(Upstreams upstreams, ObjectMapper json) {
        this.upstreams = upstreams;
        // As jose4j reads JOSE JSON: a member named twice makes the token unreadable, not its last value the claim.
        this.strictJson = json.reader().with(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    }

    /**
     * From the ID token when there is one (an ID token that fails verification yields no identity), else the access
     * token. Only a verification may block (it may fetch the JWKS): that runs on a worker thread, everything else (an
     * opaque token, claims read without a JWKS) on the caller's.
     */
    public Uni<Identity> of(UpstreamTokenResponse token, RegisteredClient client) {
        return of(token, client.upstream(), client.clientId());
    }

    /** As {@link #of(UpstreamTokenResponse, RegisteredClient)}, from the upstream with this id, for {@code clientId}. */
    Uni<Identity> of(UpstreamTokenResponse token, String upstreamId, String clientId) {
        Upstream upstream = upstreams.byId(upstreamId);
        String jwt = token.idToken() != null ? token.idToken() : token.accessToken();
        String audience = token.idToken() != null ? clientId : ANY_AUDIENCE;
        return Uni.createFrom().deferred(() -> {
            if (!isJwt(jwt)) {
                return Uni.createFrom().item(Identity.UNKNOWN);
            }
            // Read once: discovery may add a jwks_uri at any moment, and the thread must fit the parser used.
            UpstreamEndpoints endpoints = upstream.metadata().current();
            Uni<Identity> read = Uni.createFrom().item(() -> read(jwt, audience, upstream.jwks(), endpoints));
            return endpoints.jwksUri().isEmpty() ? read : read.runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
        });
    }

    /**
     * An ID token the broker asked for itself (web mode): verified without exception against the upstream's JWKS,
     * with {@code iss}, {@code aud} (the client) and {@code exp} (OIDC Core §3.1.3.7); the caller checks
     * {@code nonce}. Fails closed: without a discovered JWKS nothing is accepted.
     *
     * @throws BrokerException.InvalidGrant when the token does not verify
     * @throws BrokerException.UpstreamUnavailable when discovery gave no JWKS
     */
    public JsonWebToken verifiedIdToken(String idToken, RegisteredClient client) {
        Upstream upstream = upstreams.of(client);
        UpstreamEndpoints endpoints = upstream.metadata().current();
        if (endpoints.jwksUri().isEmpty()) {
            throw new BrokerException.UpstreamUnavailable(
                    "web mode needs the upstream's jwks_uri from discovery ("
                            + upstream.configured().property("issuer") + ")",
                    null,
                    false);
        }
        if (idToken == null || idToken.isEmpty()) {
            throw new BrokerException.InvalidGrant("The upstream returned no ID token");
        }
        try {
            return verified(idToken, client.clientId(), upstream.jwks(), endpoints);
        } catch (BrokerException.UpstreamUnavailable e) {
            throw e;
        } catch (Exception e) {
            // The exception text may quote the token: log its type only.
            LOG.warnf("An ID token failed verification (%s)", e.getClass().getSimpleName());
            throw new BrokerException.InvalidGrant("The upstream's ID token failed verification");
        }
    }

    private static boolean isJwt(String token) {
        return token != null && token.chars().filter(c -> c == '.').count() == 2;
    }

    private Identity read(String jwt, String audience, UpstreamJwks jwks, UpstreamEndpoints endpoints) {
        try {
            if (endpoints.jwksUri().isEmpty()) {
                return unverified(jwt);
            }
            JsonWebToken parsed = verified(jwt, audience, jwks, endpoints);
            return new Identity(parsed.getSubject(), parsed.getClaim("sid"));
        } catch (Exception e) {
            // The exception text may quote the token: log its type only.
            LOG.warnf(
                    "Could not read an identity from an upstream token (%s)",
                    e.getClass().getSimpleName());
            return Identity.UNKNOWN;
        }
    }

    /**
     * {@code sub} and {@code sid} of a compact JWS read without verification. Its header and payload must be base64url
     * JSON objects; a claim that is not a string is absent.
     */
    private Identity unverified(String jwt) throws IOException {
        int payloadStart = jwt.indexOf('.') + 1;
        JsonNode header = decodeObject(jwt.substring(0, payloadStart - 1));
        JsonNode claims = decodeObject(jwt.substring(payloadStart, jwt.indexOf('.', payloadStart)));
        if (header == null || claims == null) {
            throw new IllegalArgumentException("not a JWS");
        }
        return new Identity(text(claims, "sub"), text(claims, "sid"));
    }

    private JsonNode decodeObject(String part) throws IOException {
        JsonNode node = strictJson.readTree(new String(Base64.getUrlDecoder().decode(part), StandardCharsets.UTF_8));
        return node != null && node.isObject() ? node : null;
    }

    private static String text(JsonNode claims, String name) {
        JsonNode value = claims.get(name);
        return value != null && value.isTextual() ? value.asText() : null;
    }

    /** Verified against the upstream's JWKS, which {@code endpoints} must name; blocks while it is fetched. */
    private static JsonWebToken verified(String jwt, String audience, UpstreamJwks jwks, UpstreamEndpoints endpoints)
            throws ParseException {
        return jwks.parse(jwt, endpoints.jwksUri().orElseThrow(), "identity:" + audience, info -> {
            info.setIssuedBy(endpoints.issuer().orElse(null));
            info.setRequireNamedPrincipal(false);
            info.setSignatureAlgorithm(ASYMMETRIC);
            if (!audience.isEmpty()) {
                info.setExpectedAudience(Set.of(audience));
            }
        });
    }
}
