package dev.tokenbroker.api.admin;

import java.util.Collection;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

import jakarta.inject.Singleton;
import jakarta.json.JsonArray;
import jakarta.json.JsonString;

import org.eclipse.microprofile.jwt.JsonWebToken;
import org.jboss.logging.Logger;

import dev.tokenbroker.config.BrokerConfig;
import io.smallrye.jwt.algorithm.SignatureAlgorithm;
import io.smallrye.jwt.auth.principal.DefaultJWTParser;
import io.smallrye.jwt.auth.principal.JWTAuthContextInfo;

/**
 * Authenticates callers of the admin API: a bearer JWT verified by SmallRye JWT against {@code broker.admin.*}
 * (issuer, JWKS, audience, asymmetric signature, {@code exp}), carrying {@code broker.admin.required-scope} as a
 * scope ({@code scope} string or array, {@code scp}) or a role ({@code groups}, {@code roles}). Unconfigured means
 * {@link #enabled()} is false and the routes are never registered.
 */
@Singleton
public class AdminAuthentication {

    private static final Logger LOG = Logger.getLogger(AdminAuthentication.class);
    private static final Set<SignatureAlgorithm> ASYMMETRIC = EnumSet.complementOf(
            EnumSet.of(SignatureAlgorithm.HS256, SignatureAlgorithm.HS384, SignatureAlgorithm.HS512));

    /** Why a request was refused: 401 (no or bad token) or 403 (valid token without the scope). */
    enum Refusal {
        UNAUTHENTICATED,
        FORBIDDEN
    }

    /** A verified caller, or why there is none. */
    record Caller(String subject, Refusal refusal) {}

    private final DefaultJWTParser parser;
    private final String requiredScope;

    AdminAuthentication(BrokerConfig config) {
        BrokerConfig.Admin admin = config.admin();
        this.requiredScope = admin.requiredScope();
        if (admin.issuer().isPresent()
                && admin.jwksUri().isPresent()
                && admin.audience().isPresent()) {
            JWTAuthContextInfo info = new JWTAuthContextInfo(
                    admin.jwksUri().get().toString(), admin.issuer().get());
            info.setSignatureAlgorithm(ASYMMETRIC);
            info.setExpectedAudience(Set.of(admin.audience().get()));
            info.setRequireNamedPrincipal(false);
            this.parser = new DefaultJWTParser(info);
        } else {
            if (admin.issuer().isPresent()
                    || admin.jwksUri().isPresent()
                    || admin.audience().isPresent()) {
                LOG.warn("broker.admin needs issuer, jwks-uri and audience together: the admin API stays off");
            }
            this.parser = null;
        }
    }

    boolean enabled() {
        return parser != null;
    }

    /** @param authorization the {@code Authorization} header, or null */
    Caller authenticate(String authorization) {
        if (parser == null || authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return new Caller(null, Refusal.UNAUTHENTICATED);
        }
        JsonWebToken jwt;
        try {
            jwt = parser.parse(authorization.substring(7).trim());
        } catch (Exception e) {
            // The exception text may quote the token: log its type only.
            LOG.infof("Admin API: token refused (%s)", e.getClass().getSimpleName());
            return new Caller(null, Refusal.UNAUTHENTICATED);
        }
        String subject = Optional.ofNullable(jwt.getSubject()).orElse("unknown");
        if (!grants(jwt)) {
            return new Caller(subject, Refusal.FORBIDDEN);
        }
        return new Caller(subject, null);
    }

    private boolean grants(JsonWebToken jwt) {
        for (String claim : new String[] {"scope", "scp", "groups", "roles"}) {
            Object value = jwt.getClaim(claim);
            if (value instanceof JsonString s
                    && Set.of(s.getString().split(" ")).contains(requiredScope)) {
                return true;
            }
            if (value instanceof String s && Set.of(s.split(" ")).contains(requiredScope)) {
                return true;
            }
            if (value instanceof JsonArray a
                    && a.stream()
                            .anyMatch(v ->
                                    v instanceof JsonString js && js.getString().equals(requiredScope))) {
                return true;
            }
            if (value instanceof Collection<?> c && c.contains(requiredScope)) {
                return true;
            }
        }
        return false;
    }
}
