package dev.tokenbroker.upstream;

import java.util.concurrent.atomic.AtomicReference;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.jwt.JsonWebToken;
import org.jboss.logging.Logger;

import io.smallrye.jwt.auth.principal.DefaultJWTParser;
import io.smallrye.jwt.auth.principal.JWTAuthContextInfo;

/**
 * Reads the user ({@code sub}) and upstream session ({@code sid}) from the ID token, or else the access
 * token, for session metadata. Signatures are verified against the upstream {@code jwks_uri} when
 * discovery gave one; without it the claims are read unverified, which OIDC Core §3.1.3.7 allows for
 * tokens received straight from the token endpoint over TLS. Opaque tokens simply yield no identity.
 */
@Singleton
public class TokenIdentity {

    private static final Logger LOG = Logger.getLogger(TokenIdentity.class);

    /** The user and upstream session a token speaks for; either may be null. */
    public record Identity(String subject, String sessionId) {
        static final Identity UNKNOWN = new Identity(null, null);
    }

    private final UpstreamMetadata metadata;
    private final AtomicReference<DefaultJWTParser> verifyingParser = new AtomicReference<>();
    private final DefaultJWTParser unverifiedParser = new DefaultJWTParser();

    TokenIdentity(UpstreamMetadata metadata) {
        this.metadata = metadata;
    }

    public Identity of(UpstreamTokenResponse token) {
        Identity identity = read(token.idToken());
        return identity.subject() != null ? identity : read(token.accessToken());
    }

    private Identity read(String jwt) {
        if (jwt == null || jwt.chars().filter(c -> c == '.').count() != 2) {
            return Identity.UNKNOWN;
        }
        try {
            DefaultJWTParser parser = parser();
            JsonWebToken parsed = parser == null ? unverifiedParser.parseOnly(jwt) : parser.parse(jwt);
            return new Identity(parsed.getSubject(), parsed.getClaim("sid"));
        } catch (Exception e) {
            // The exception text may quote the token: log its type only.
            LOG.warnf("Could not read a verified identity from an upstream token (%s)", e.getClass().getSimpleName());
            return Identity.UNKNOWN;
        }
    }

    private DefaultJWTParser parser() {
        UpstreamEndpoints endpoints = metadata.current();
        if (endpoints.jwksUri().isEmpty()) {
            return null;
        }
        return verifyingParser.updateAndGet(existing -> existing != null ? existing : newParser(endpoints));
    }

    private static DefaultJWTParser newParser(UpstreamEndpoints endpoints) {
        JWTAuthContextInfo info = new JWTAuthContextInfo(endpoints.jwksUri().get().toString(),
                endpoints.issuer().orElse(null));
        info.setRequireNamedPrincipal(false);
        return new DefaultJWTParser(info);
    }
}
