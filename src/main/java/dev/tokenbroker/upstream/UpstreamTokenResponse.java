package dev.tokenbroker.upstream;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * RFC 6749 §5.1 successful token response, as the upstream sends it. {@code refresh_token} and
 * {@code id_token} may be absent. {@link #toString()} is redacted.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record UpstreamTokenResponse(
        @JsonProperty("access_token") String accessToken,
        @JsonProperty("token_type") String tokenType,
        @JsonProperty("expires_in") Long expiresIn,
        @JsonProperty("scope") String scope,
        @JsonProperty("refresh_token") String refreshToken,
        @JsonProperty("id_token") String idToken,
        /** Seconds the refresh token lives, as Keycloak says; absent elsewhere. */
        @JsonProperty("refresh_expires_in") Long refreshExpiresIn) {

    @Override
    public String toString() {
        return "UpstreamTokenResponse[token_type=" + tokenType + ", expires_in=" + expiresIn + ", scope=" + scope
                + ", refresh_token=" + (refreshToken == null ? "absent" : "present")
                + ", id_token=" + (idToken == null ? "absent" : "present") + "]";
    }
}
