package dev.tokenbroker.api.http;

import com.fasterxml.jackson.annotation.JsonProperty;

/** RFC 6749 §5.2 error body: the only error shape the broker sends. */
public record ErrorResponse(
        @JsonProperty("error") String error,
        @JsonProperty("error_description") String errorDescription) {}
