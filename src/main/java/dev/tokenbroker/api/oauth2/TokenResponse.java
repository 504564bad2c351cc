package dev.tokenbroker.api.oauth2;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import dev.tokenbroker.token.TokenResult;

/** RFC 6749 §5.1 successful response of {@code POST /oauth2/token}; absent fields are omitted. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TokenResponse(
        @JsonProperty("access_token") String accessToken,
        @JsonProperty("token_type") String tokenType,
        @JsonProperty("expires_in") Long expiresIn,
        @JsonProperty("scope") String scope,
        @JsonProperty("refresh_token") String refreshToken,
        @JsonProperty("id_token") String idToken) {

    static TokenResponse of(TokenResult result) {
        // An unknown scope is stored as "", which must not reach the wire as "scope":"" (RFC 6749 §5.1: omit it).
        String scope = result.scope() == null || result.scope().isEmpty() ? null : result.scope();
        return new TokenResponse(
                result.accessToken(), result.tokenType(), result.expiresIn(), scope, result.handle(), result.idToken());
    }

    @Override
    public String toString() {
        return "TokenResponse[token_type=" + tokenType + ", expires_in=" + expiresIn + ", scope=" + scope + "]";
    }
}
