package dev.tokenbroker.api.oauth2;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Request shapes for the OpenAPI document only. The resource reads raw parameters (to reject repeats),
 * so these records describe the fields without being used at run time.
 */
public final class ApiDoc {

    private ApiDoc() {}

    @Schema(name = "TokenRequest", description = "RFC 6749 token request; form-urlencoded or JSON")
    record TokenRequest(
            @Schema(
                    required = true,
                    enumeration = {"authorization_code", "refresh_token"})
            @JsonProperty("grant_type")
            String grantType,

            @Schema(required = true, description = "A configured client; unknown → 401 invalid_client")
            @JsonProperty("client_id")
            String clientId,

            @Schema(description = "authorization_code: the code from the redirect, 1–2048 printable ASCII")
            @JsonProperty("code")
            String code,

            @Schema(description = "authorization_code: exactly one of the client's registered redirect URIs")
            @JsonProperty("redirect_uri")
            String redirectUri,

            @Schema(description = "authorization_code: RFC 7636 verifier, 43–128 of [A-Za-z0-9._~-]")
            @JsonProperty("code_verifier")
            String codeVerifier,

            @Schema(description = "refresh_token: the broker handle from an earlier response")
            @JsonProperty("refresh_token")
            String refreshToken,

            @Schema(description = "refresh_token: optional, a subset of the granted scope") @JsonProperty("scope")
            String scope) {}

    @Schema(name = "RevocationRequest", description = "RFC 7009 revocation request; form-urlencoded or JSON")
    record RevocationRequest(
            @Schema(required = true) @JsonProperty("client_id")
            String clientId,

            @Schema(required = true, description = "The broker handle") @JsonProperty("token")
            String token,

            @Schema(enumeration = {"refresh_token", "access_token"}) @JsonProperty("token_type_hint")
            String tokenTypeHint) {}
}
