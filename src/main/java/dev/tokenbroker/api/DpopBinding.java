package dev.tokenbroker.api;

import jakarta.inject.Singleton;

import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.error.BrokerException;

/**
 * Turns a request's {@code DPoP} header into the thumbprint of the key a session is (or gets) bound to
 * (RFC 9449). Proof verification is not wired yet: a request carrying a proof is refused rather than accepted
 * unverified, so no session is ever bound to a key nobody checked.
 */
@Singleton
class DpopBinding {

    /** The key an exchange binds its session to, or null for a bearer handle. */
    String keyForExchange(RegisteredClient client, RequestFacts request) {
        return keyIfPresent(request);
    }

    /** The verified key of the request's proof, or null when it carries none. */
    String keyIfPresent(RequestFacts request) {
        if (request.dpopProof() != null) {
            throw new BrokerException.InvalidDpopProof("DPoP proofs are not accepted by this broker");
        }
        return null;
    }
}
