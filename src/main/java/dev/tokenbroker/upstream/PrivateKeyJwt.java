package dev.tokenbroker.upstream;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.UUID;

import jakarta.ws.rs.core.Form;

import dev.tokenbroker.config.BrokerConfig.AssertionAudience;
import dev.tokenbroker.config.SigningKey;
import dev.tokenbroker.config.SigningKeys;
import io.smallrye.jwt.algorithm.SignatureAlgorithm;
import io.smallrye.jwt.build.Jwt;
import io.smallrye.jwt.build.JwtSignatureBuilder;
import io.vertx.core.http.RequestOptions;

/**
 * {@code private_key_jwt}: a JWT signed with the client's key (RFC 7523 §2.2, OIDC Core §9), made anew for every call
 * since upstreams refuse a {@code jti} they have seen. {@code iss} and {@code sub} are the client id, {@code aud} the
 * token endpoint, the issuer or the endpoint called, and it expires a minute after it is made. A key with a certificate names it by its
 * thumbprints too ({@code x5t}, {@code x5t#S256}).
 */
final class PrivateKeyJwt implements ClientAuthentication {

    static final String ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    /** Long enough for a call's time budget and some clock skew; short, as a captured assertion is a credential. */
    static final Duration LIFETIME = Duration.ofSeconds(60);

    private final String clientId;
    private final SigningKeys keys;
    private final AssertionAudience audience;
    private final Clock clock;

    /** @param keys read again while the broker runs: each assertion is signed with the one that signs then */
    PrivateKeyJwt(String clientId, SigningKeys keys, AssertionAudience audience, Clock clock) {
        this.clientId = clientId;
        this.keys = keys;
        this.audience = audience;
        this.clock = clock;
    }

    @Override
    public void apply(UpstreamEndpoints upstream, URI endpoint, RequestOptions request, Form form) {
        // RFC 7523 §3 makes client_id optional; some upstreams need it to find the client's keys. putSingle: a pushed
        // authorization request already names the client.
        form.asMap().putSingle("client_id", clientId);
        form.param("client_assertion_type", ASSERTION_TYPE)
                .param("client_assertion", assertion(audienceOf(upstream, endpoint)));
    }

    private String audienceOf(UpstreamEndpoints upstream, URI endpoint) {
        return switch (audience) {
            case TOKEN_ENDPOINT -> upstream.tokenEndpoint().toString();
            // Clients refuses this audience without broker.upstream.issuer.
            case ISSUER -> upstream.issuer().orElseThrow();
            case ENDPOINT -> endpoint.toString();
        };
    }

    private String assertion(String aud) {
        SigningKey key = keys.signing();
        long now = clock.instant().getEpochSecond();
        JwtSignatureBuilder jws = Jwt.issuer(clientId)
                .subject(clientId)
                .audience(aud)
                .issuedAt(now)
                .expiresAt(now + LIFETIME.toSeconds())
                .claim("jti", UUID.randomUUID().toString())
                .jws()
                .keyId(key.keyId())
                .algorithm(SignatureAlgorithm.fromAlgorithm(key.algorithm()));
        key.certificate().ifPresent(certificate -> jws.thumbprint(certificate).thumbprintS256(certificate));
        return jws.sign(key.privateKey());
    }

    @Override
    public String toString() {
        return "private_key_jwt[" + keys + "]";
    }
}
