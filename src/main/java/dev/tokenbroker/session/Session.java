package dev.tokenbroker.session;

import java.util.Optional;

/**
 * A stored broker session, decrypted. {@link #toString()} leaves token material out.
 *
 * @param handleHash   the Redis identity of the session: a hash of the handle the front end holds
 * @param clientId     the {@code client_id} the session was issued to
 * @param refreshedAt  epoch millis of the last completed refresh, 0 before the first
 * @param subject      {@code sub} of the user, when the upstream tokens named one
 * @param upstreamSid  {@code sid} of the upstream session, when the upstream tokens named one
 * @param version      increases by one with every committed refresh; the compare-and-set guard
 * @param lastIssued   the last refresh's result, if any
 */
public record Session(String handleHash, String clientId, long createdAt, long refreshedAt, String scope,
        String subject, String upstreamSid, long version, String refreshToken, Optional<IssuedTokens> lastIssued) {

    @Override
    public String toString() {
        return "Session[clientId=" + clientId + ", createdAt=" + createdAt + ", refreshedAt=" + refreshedAt
                + ", scope=" + scope + ", version=" + version + "]";
    }
}
