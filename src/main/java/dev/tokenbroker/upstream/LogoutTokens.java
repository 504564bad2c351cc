package dev.tokenbroker.upstream;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

import jakarta.inject.Singleton;
import jakarta.json.JsonObject;

import org.eclipse.microprofile.jwt.JsonWebToken;
import org.jose4j.jwt.consumer.ErrorCodes;
import org.jose4j.jwt.consumer.InvalidJwtException;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.error.BrokerException.InvalidLogoutToken;
import io.smallrye.jwt.algorithm.SignatureAlgorithm;

/**
 * Verifies OIDC Back-Channel Logout 1.0 logout tokens (§2.4, §2.6) from the upstream, in this order:
 * <ol>
 * <li>compact JWS with three parts; header {@code alg} present and not {@code none}; {@code typ}, when present,
 * {@code logout+jwt} (§2.4; {@code application/} prefix allowed, RFC 7515 §4.1.9);</li>
 * <li>the upstream: the one whose issuer (from discovery) is exactly the token's {@code iss}, read before
 * verification to choose the keys, then verified;</li>
 * <li>with SmallRye JWT: signature by a key of that upstream's JWKS from discovery (cached; an unknown {@code kid}
 * makes it fetch the JWKS again, at most once per {@code jwks-refetch-interval}) with an asymmetric algorithm,
 * {@code iss} equal to its issuer, {@code aud} naming a client registered at that upstream, {@code exp} present and
 * not passed (SmallRye JWT requires it; the final spec does too);</li>
 * <li>{@code iat} present, at most {@code max-age} old and not in the future ({@code clock-skew} either way);</li>
 * <li>{@code events} holds the member {@code http://schemas.openid.net/event/backchannel-logout} with an object value;
 * no {@code nonce}; {@code sid} or {@code sub} present; {@code jti} present.</li>
 * </ol>
 * Replay ({@code jti} seen before) is checked by the caller, which owns the store. Every refusal is an
 * {@link InvalidLogoutToken} with a fixed reason label; no message ever quotes the token.
 */
@Singleton
public class LogoutTokens {

    public static final String EVENT = "http://schemas.openid.net/event/backchannel-logout";
    private static final Set<SignatureAlgorithm> ASYMMETRIC = EnumSet.complementOf(
            EnumSet.of(SignatureAlgorithm.HS256, SignatureAlgorithm.HS384, SignatureAlgorithm.HS512));
    /** Bigger than any sane logout token; refused before any parsing. */
    private static final int MAX_LENGTH = 16 * 1024;

    /**
     * A verified logout token. {@code clientIds} are the client ids its {@code aud} names of those registered at its
     * issuer; {@code sid} and {@code subject} may each be null, not both.
     */
    public record LogoutToken(String issuer, String jti, Set<String> clientIds, String sid, String subject) {
        @Override
        public String toString() {
            return "LogoutToken[clients=" + clientIds + ", sid=" + (sid != null) + ", sub=" + (subject != null) + "]";
        }
    }

    private final Upstreams upstreams;
    private final Clients clients;
    private final BrokerConfig.BackchannelLogout config;
    private final ObjectMapper json;

    LogoutTokens(Upstreams upstreams, Clients clients, BrokerConfig config, ObjectMapper json) {
        this.upstreams = upstreams;
        this.clients = clients;
        this.config = config.backchannelLogout();
        this.json = json;
    }

    /**
     * @throws InvalidLogoutToken when the token fails any check
     * @throws BrokerException.UpstreamUnavailable while discovery has not succeeded yet (the upstream retries)
     */
    public LogoutToken verify(String token) {
        Upstream upstream = upstreamOf(unverifiedClaims(token));
        UpstreamEndpoints endpoints = upstream.metadata().current();
        if (endpoints.jwksUri().isEmpty()) {
            throw new InvalidLogoutToken(
                    "unverifiable",
                    "no upstream JWKS from discovery (" + upstream.configured().property("issuer")
                            + "): logout tokens cannot be verified");
        }
        Set<String> clientIds = clients.clientIdsAt(upstream.id());
        JsonWebToken jwt;
        try {
            jwt = upstream.jwks().parse(token, endpoints.jwksUri().get(), "logout", info -> {
                info.setIssuedBy(endpoints.issuer().get());
                info.setRequireNamedPrincipal(false);
                info.setSignatureAlgorithm(ASYMMETRIC);
                info.setExpectedAudience(clientIds);
                info.setClockSkew((int) config.clockSkew().toSeconds());
            });
        } catch (BrokerException e) {
            throw e;
        } catch (Exception e) {
            throw new InvalidLogoutToken(reason(e), "logout token failed verification (" + reason(e) + ")");
        }
        // Checked here rather than by SmallRye JWT, whose age check does not say which rule failed.
        long now = System.currentTimeMillis() / 1000;
        long iat = jwt.getIssuedAtTime();
        if (iat <= 0
                || iat < now - config.maxAge().plus(config.clockSkew()).toSeconds()
                || iat > now + config.clockSkew().toSeconds()) {
            throw new InvalidLogoutToken(
                    "iat", "logout token iat is missing or outside broker.backchannel-logout.max-age");
        }
        Object events = jwt.getClaim("events");
        if (!(events instanceof JsonObject object) || !(object.get(EVENT) instanceof JsonObject)) {
            throw new InvalidLogoutToken("events", "logout token has no back-channel logout event");
        }
        if (jwt.getClaimNames() != null && jwt.getClaimNames().contains("nonce")) {
            throw new InvalidLogoutToken("nonce", "logout token carries a nonce");
        }
        String sid = string(jwt.getClaim("sid"));
        String subject = string(jwt.getClaim("sub"));
        if (sid == null && subject == null) {
            throw new InvalidLogoutToken("no_subject", "logout token has neither sid nor sub");
        }
        String jti = string(jwt.getClaim("jti"));
        if (jti == null) {
            throw new InvalidLogoutToken("no_jti", "logout token has no jti");
        }
        Set<String> ours = new LinkedHashSet<>();
        for (String aud : jwt.getAudience()) {
            if (clientIds.contains(aud)) {
                ours.add(aud);
            }
        }
        if (ours.isEmpty()) {
            // SmallRye checked this already; kept so that no token can ever end sessions of no client.
            throw new InvalidLogoutToken("audience", "logout token names no registered client");
        }
        return new LogoutToken(jwt.getIssuer(), jti, Set.copyOf(ours), sid, subject);
    }

    /** How long a {@code jti} must be remembered: as long as its token could still be accepted. */
    public java.time.Duration replayWindow() {
        return config.maxAge().plus(config.clockSkew()).plus(config.clockSkew());
    }

    /**
     * The upstream whose issuer the token's {@code iss} names, read unverified only to pick the keys that verify it.
     *
     * @throws BrokerException.UpstreamUnavailable when no upstream matches while one has not been discovered yet
     */
    private Upstream upstreamOf(JsonNode claims) {
        String issuer = claims.path("iss").asText("");
        Optional<Upstream> upstream = issuer.isEmpty() ? Optional.empty() : upstreams.byIssuer(issuer);
        if (upstream.isPresent()) {
            return upstream.get();
        }
        if (upstreams.all().stream().anyMatch(u -> !u.metadata().loaded())) {
            throw new BrokerException.UpstreamUnavailable(
                    "upstream discovery has not succeeded yet: a logout token's issuer cannot be matched", null, false);
        }
        throw new InvalidLogoutToken("issuer", "logout token iss names no upstream");
    }

    /** Checks the compact JWS and its header; returns its claims, not yet verified. */
    private JsonNode unverifiedClaims(String token) {
        if (token.length() > MAX_LENGTH) {
            throw new InvalidLogoutToken("malformed", "logout token is over " + MAX_LENGTH + " characters");
        }
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3) {
            throw new InvalidLogoutToken("malformed", "logout token is not a compact JWS");
        }
        JsonNode header;
        try {
            header = json.readTree(new String(Base64.getUrlDecoder().decode(parts[0]), StandardCharsets.UTF_8));
        } catch (Exception e) {
            throw new InvalidLogoutToken("malformed", "logout token header is not base64url JSON");
        }
        if (header == null || !header.isObject()) {
            throw new InvalidLogoutToken("malformed", "logout token header is not a JSON object");
        }
        String alg = header.path("alg").asText("");
        if (alg.isEmpty()
                || "none".equalsIgnoreCase(alg)
                || alg.toUpperCase(Locale.ROOT).startsWith("HS")) {
            throw new InvalidLogoutToken("algorithm", "logout token alg is missing, none or symmetric");
        }
        if (parts[2].isEmpty()) {
            throw new InvalidLogoutToken("algorithm", "logout token is unsigned");
        }
        JsonNode typ = header.get("typ");
        if (typ != null) {
            String t = typ.asText("").toLowerCase(Locale.ROOT);
            if (!t.equals("logout+jwt") && !t.equals("application/logout+jwt")) {
                throw new InvalidLogoutToken("typ", "logout token typ is not logout+jwt");
            }
        }
        try {
            // A claim named twice is refused, as jose4j refuses it: no other iss than the one verified picks the keys.
            JsonNode claims = json.reader()
                    .with(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .readTree(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
            if (claims != null && claims.isObject()) {
                return claims;
            }
        } catch (Exception e) {
            // refused below
        }
        throw new InvalidLogoutToken("malformed", "logout token payload is not base64url JSON");
    }

    /** The fixed label of the check that failed, from jose4j's error codes. */
    static String reason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof InvalidJwtException invalid) {
                if (invalid.hasErrorCode(ErrorCodes.EXPIRED)) {
                    return "expired";
                }
                if (invalid.hasErrorCode(ErrorCodes.ISSUED_AT_MISSING)
                        || invalid.hasErrorCode(ErrorCodes.ISSUED_AT_INVALID_PAST)
                        || invalid.hasErrorCode(ErrorCodes.ISSUED_AT_INVALID_FUTURE)) {
                    return "iat";
                }
                if (invalid.hasErrorCode(ErrorCodes.EXPIRATION_MISSING)) {
                    return "expired";
                }
                if (invalid.hasErrorCode(ErrorCodes.ISSUER_INVALID)
                        || invalid.hasErrorCode(ErrorCodes.ISSUER_MISSING)) {
                    return "issuer";
                }
                if (invalid.hasErrorCode(ErrorCodes.AUDIENCE_INVALID)
                        || invalid.hasErrorCode(ErrorCodes.AUDIENCE_MISSING)) {
                    return "audience";
                }
                return "signature";
            }
        }
        return "signature";
    }

    private static String string(Object claim) {
        if (claim instanceof jakarta.json.JsonString s) {
            return s.getString().isEmpty() ? null : s.getString();
        }
        if (claim instanceof String s) {
            return s.isEmpty() ? null : s;
        }
        return null;
    }
}
