package dev.tokenbroker.api.oauth2;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import jakarta.inject.Singleton;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.BrokerConfig.DpopMode;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.crypto.DpopProofs;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.redis.ReplayCache;
import dev.tokenbroker.token.Audit;
import io.smallrye.mutiny.Uni;

/**
 * Turns a request's {@code DPoP} header into the thumbprint of the key its session is (or gets) bound to
 * (RFC 9449): the proof is verified completely ({@link DpopProofs}), its {@code htu} against
 * {@code broker.external-base-url}, and its {@code jti} may be used once across all replicas. For a client with
 * {@code dpop=off} the header is ignored, as a server without DPoP support would (RFC 9449 §1).
 */
@Singleton
public class DpopBinding {

    private final DpopProofs proofs;
    private final ReplayCache replays;
    private final Optional<String> externalBase;
    /**
     * A proof is refused once older than this anyway, so its jti need not be remembered longer; the extra minute
     * covers replicas whose clocks (which judge iat) drift apart from Redis' (which expires the entry).
     */
    private final Duration remember;

    DpopBinding(BrokerConfig config, ReplayCache replays) {
        BrokerConfig.Dpop dpop = config.dpop();
        this.proofs = new DpopProofs(dpop.allowedAlgorithms(), dpop.maxAge(), dpop.clockSkew());
        this.replays = replays;
        this.externalBase = config.externalBaseUrl()
                .map(URI::toString)
                .map(base -> base.endsWith("/") ? base.substring(0, base.length() - 1) : base);
        this.remember = dpop.maxAge().plus(dpop.clockSkew().multipliedBy(2)).plusMinutes(1);
    }

    /** The key an exchange binds its session to, or null (as the item) for a bearer handle. */
    Uni<String> keyForExchange(RegisteredClient client, RequestFacts request) {
        if (client.dpop() == DpopMode.required && request.dpopProof() == null) {
            return Uni.createFrom().failure(refused(client, "missing", "A DPoP proof is required for this client"));
        }
        return keyIfPresent(client, request);
    }

    /** The verified key of the request's proof, or null when it carries none (or the client does not use DPoP). */
    Uni<String> keyIfPresent(RegisteredClient client, RequestFacts request) {
        if (client.dpop() == DpopMode.off || request.dpopProof() == null) {
            return Uni.createFrom().nullItem();
        }
        DpopProofs.Proof proof;
        try {
            proof = proofs.verify(
                    request.dpopProof(),
                    request.method(),
                    URI.create(externalBase.orElseThrow() + request.path()),
                    Instant.now(),
                    Optional.empty());
        } catch (DpopProofs.Rejected e) {
            return Uni.createFrom().failure(refused(client, "invalid", "Invalid DPoP proof: " + e.getMessage()));
        }
        return replays.firstUse(proof.jkt(), proof.jti(), remember).map(first -> {
            if (!first) {
                throw refused(client, "replayed", "The DPoP proof was used before");
            }
            return proof.jkt();
        });
    }

    private static BrokerException refused(RegisteredClient client, String reason, String description) {
        Audit.dpopRefused(client.name(), reason);
        return new BrokerException.InvalidDpopProof(description);
    }
}
