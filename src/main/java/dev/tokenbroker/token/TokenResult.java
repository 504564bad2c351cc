package dev.tokenbroker.token;

/**
 * The token response a use case produced (RFC 6749 §5.1): the upstream access (and ID) token and, in place of the
 * upstream refresh token, the broker's handle. {@link #toString()} is redacted.
 *
 * @param expiresIn seconds, or null when the upstream did not say
 * @param handle    the broker refresh handle; null when no session was stored
 */
public record TokenResult(
        String accessToken, String tokenType, Long expiresIn, String scope, String idToken, String handle) {

    @Override
    public String toString() {
        return "TokenResult[token_type=" + tokenType + ", expires_in=" + expiresIn + ", scope=" + scope + ", handle="
                + (handle == null ? "absent" : "present") + "]";
    }
}
