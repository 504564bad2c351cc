package dev.tokenbroker.upstream;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/** RFC 6749 §5.2 error response. Duende sends it with HTTP 400 for every error, {@code invalid_client} included. */
@JsonIgnoreProperties(ignoreUnknown = true)
record UpstreamErrorResponse(
        @JsonProperty("error") String error,
        @JsonProperty("error_description") String errorDescription) {}
