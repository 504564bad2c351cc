package dev.tokenbroker.session;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * What one upstream refresh produced, kept (encrypted) with the session so that callers who coalesced
 * onto that refresh, or who come within the reuse window, get the same answer.
 *
 * @param requestedScope the scope the caller asked for, "" for the session's full scope; the result is
 *                       reused only for the same request
 * @param issuedAt       epoch millis when the upstream answered
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record IssuedTokens(String accessToken, String tokenType, Long expiresIn, String scope, String idToken,
        String requestedScope, long issuedAt) {

    /** Seconds of validity left at {@code now}, never negative: the upstream's {@code expires_in} less our age. */
    public Long expiresInAt(long nowMillis) {
        return expiresIn == null ? null : Math.max(0, expiresIn - Math.max(0, nowMillis - issuedAt) / 1000);
    }

    @Override
    public String toString() {
        return "IssuedTokens[token_type=" + tokenType + ", expires_in=" + expiresIn + ", scope=" + scope
                + ", issuedAt=" + issuedAt + "]";
    }
}
