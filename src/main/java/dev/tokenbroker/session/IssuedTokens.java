package dev.tokenbroker.session;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * What one refresh answered, kept (encrypted) with the session so that callers who coalesced onto that refresh,
 * who come within the reuse window, or who retry with the handle it retired get exactly the same answer.
 *
 * @param expiresIn seconds as the upstream said at the time of the refresh, or null
 * @param handle    the handle that answer carried: the new one after a rotation
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record IssuedTokens(
        String accessToken, String tokenType, Long expiresIn, String scope, String idToken, String handle) {

    @Override
    public String toString() {
        return "IssuedTokens[token_type=" + tokenType + ", expires_in=" + expiresIn + ", scope=" + scope + "]";
    }
}
