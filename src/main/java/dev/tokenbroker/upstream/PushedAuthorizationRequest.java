package dev.tokenbroker.upstream;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * RFC 9126 §2.2 answer of the pushed authorization request endpoint: the {@code request_uri} the browser carries to
 * the authorization endpoint instead of the request's parameters, and how long it is good for.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record PushedAuthorizationRequest(
        @JsonProperty("request_uri") String requestUri,
        @JsonProperty("expires_in") Long expiresIn) {}
