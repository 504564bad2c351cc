package dev.tokenbroker.error;

import java.util.OptionalInt;

/**
 * The one error model. Each subclass fixes every fact about itself: HTTP status, RFC 6749 §5.2 error code, the
 * metric outcome, and whether the caller should retry after a pause. The message is the public
 * {@code error_description}; {@link #logDetail()} is for the log only. Neither may ever contain token material.
 */
public abstract sealed class BrokerException extends RuntimeException {

    /** What a 503 tells the caller to wait before retrying. */
    private static final OptionalInt RETRY_AFTER = OptionalInt.of(5);

    private final int status;
    private final String error;
    private final String logDetail;

    private BrokerException(int status, String error, String description, String logDetail, Throwable cause) {
        super(description, cause, false, cause != null);
        this.status = status;
        this.error = error;
        this.logDetail = logDetail;
    }

    /** The HTTP status of the answer. */
    public final int status() {
        return status;
    }

    /** The RFC 6749 §5.2 {@code error} code of the answer. */
    public final String error() {
        return error;
    }

    /** The {@code outcome} tag of the operation metric: the RFC 6749 error for client errors, the cause otherwise. */
    public String outcome() {
        return error();
    }

    /** Seconds for a {@code Retry-After} header, when the caller should simply retry. */
    public OptionalInt retryAfterSeconds() {
        return OptionalInt.empty();
    }

    /** Detail for operators; never sent to the caller. */
    public String logDetail() {
        return logDetail == null ? getMessage() : logDetail;
    }

    /** Malformed, missing or repeated parameter. */
    public static final class InvalidRequest extends BrokerException {
        public InvalidRequest(String description) {
            super(400, "invalid_request", description, null, null);
        }
    }

    /** Unknown {@code client_id}. */
    public static final class InvalidClient extends BrokerException {
        public InvalidClient(String description) {
            super(401, "invalid_client", description, null, null);
        }
    }

    /** Code or refresh handle unknown, expired, used, or issued to another client. */
    public static final class InvalidGrant extends BrokerException {
        public InvalidGrant(String description) {
            super(400, "invalid_grant", description, null, null);
        }
    }

    /** Web mode: no live session behind the request's cookie (OIDC Core §3.1.2.6 {@code login_required}). */
    public static final class NotSignedIn extends BrokerException {
        public NotSignedIn(String description) {
            super(401, "login_required", description, null, null);
        }
    }

    /**
     * Web mode: a {@code /bff/*} call without the CSRF header, or from an origin the client does not allow. The
     * description names the missing check, never the allowed origins.
     */
    public static final class CrossSiteRefused extends BrokerException {
        public CrossSiteRefused(String description) {
            super(403, "access_denied", description, null, null);
        }
    }

    /** Requested scope wider than the session's. */
    public static final class InvalidScope extends BrokerException {
        public InvalidScope(String description) {
            super(400, "invalid_scope", description, null, null);
        }
    }

    public static final class UnsupportedGrantType extends BrokerException {
        public UnsupportedGrantType(String description) {
            super(400, "unsupported_grant_type", description, null, null);
        }
    }

    /** RFC 9449 §7.1: the DPoP proof is missing, malformed, stale, replayed or signed by another key. */
    public static final class InvalidDpopProof extends BrokerException {
        public InvalidDpopProof(String description) {
            super(400, "invalid_dpop_proof", description, null, null);
        }
    }

    /** The upstream rejected the broker's own client credentials: an operator must fix the configuration. */
    public static final class UpstreamRejectedBroker extends BrokerException {
        public UpstreamRejectedBroker(String logDetail) {
            super(
                    502,
                    "server_error",
                    "The upstream authorization server rejected the broker's client configuration",
                    logDetail,
                    null);
        }

        @Override
        public String outcome() {
            return "upstream_rejected_broker";
        }
    }

    /**
     * Upstream 5xx, connection failure or an answer that is not OAuth JSON. {@link #mayHaveReachedUpstream()} says
     * whether the upstream may have processed the request (and so spent or rotated a refresh token).
     */
    public static final class UpstreamUnavailable extends BrokerException {
        private final boolean mayHaveReachedUpstream;

        public UpstreamUnavailable(String logDetail, Throwable cause, boolean mayHaveReachedUpstream) {
            super(502, "temporarily_unavailable", "The upstream authorization server is unavailable", logDetail, cause);
            this.mayHaveReachedUpstream = mayHaveReachedUpstream;
        }

        @Override
        public String outcome() {
            return "upstream_error";
        }

        @Override
        public boolean mayHaveReachedUpstream() {
            return mayHaveReachedUpstream;
        }
    }

    /** The request was sent but no complete answer came in time: the upstream may still be processing it. */
    public static final class UpstreamTimeout extends BrokerException {
        public UpstreamTimeout(String logDetail, Throwable cause) {
            super(
                    504,
                    "temporarily_unavailable",
                    "The upstream authorization server did not answer in time",
                    logDetail,
                    cause);
        }

        @Override
        public String outcome() {
            return "upstream_timeout";
        }

        @Override
        public boolean mayHaveReachedUpstream() {
            return true;
        }
    }

    /** Redis unreachable; the caller may retry. */
    public static final class StoreUnavailable extends BrokerException {
        public StoreUnavailable(String logDetail, Throwable cause) {
            super(503, "temporarily_unavailable", "The session store is unavailable, retry later", logDetail, cause);
        }

        @Override
        public String outcome() {
            return "store_error";
        }

        @Override
        public OptionalInt retryAfterSeconds() {
            return RETRY_AFTER;
        }
    }

    /**
     * Another refresh of the same session did not finish in time, or this process lost its claim on it;
     * nothing was changed and the caller may retry.
     */
    public static final class RefreshContended extends BrokerException {
        public RefreshContended(String logDetail) {
            super(
                    503,
                    "temporarily_unavailable",
                    "The session is being refreshed elsewhere, retry later",
                    logDetail,
                    null);
        }

        @Override
        public String outcome() {
            return "refresh_contended";
        }

        @Override
        public OptionalInt retryAfterSeconds() {
            return RETRY_AFTER;
        }
    }

    /**
     * OIDC Back-Channel Logout 1.0 §2.8: a logout token that is malformed or fails a check. {@link #outcome()} is
     * the fixed reason label of the check that failed (for the metric), never a value from the token.
     */
    public static final class InvalidLogoutToken extends BrokerException {
        private final String reason;

        public InvalidLogoutToken(String reason, String logDetail) {
            super(400, "invalid_request", "The logout token is invalid", logDetail, null);
            this.reason = reason;
        }

        @Override
        public String outcome() {
            return reason;
        }
    }

    /** Too much work of one kind in flight (a back-channel logout storm): nothing was done, the caller may retry. */
    public static final class Overloaded extends BrokerException {
        public Overloaded(String logDetail) {
            super(503, "temporarily_unavailable", "Too many requests in flight, retry later", logDetail, null);
        }

        @Override
        public String outcome() {
            return "overloaded";
        }

        @Override
        public OptionalInt retryAfterSeconds() {
            return RETRY_AFTER;
        }
    }

    /**
     * A rate limit is exhausted (RFC 6585 §4): nothing was done; the caller may retry after
     * {@link #retryAfterSeconds()}. {@code kind} says which limit, {@code client} or {@code address}.
     */
    public static final class RateLimited extends BrokerException {
        private final String kind;
        private final OptionalInt retryAfter;

        public RateLimited(String kind, long retryAfterMillis) {
            super(429, "temporarily_unavailable", "Too many requests, retry later", "rate limit per " + kind, null);
            this.kind = kind;
            // Whole seconds, rounded up: retrying earlier would be refused again.
            this.retryAfter = OptionalInt.of((int) Math.max(1, (retryAfterMillis + 999) / 1000));
        }

        /** Which limit: {@code client}, {@code address}, {@code login} or {@code login_address}. */
        public String kind() {
            return kind;
        }

        @Override
        public String outcome() {
            return "rate_limited";
        }

        @Override
        public OptionalInt retryAfterSeconds() {
            return retryAfter;
        }
    }

    public static final class ServerError extends BrokerException {
        public ServerError(String logDetail, Throwable cause) {
            super(500, "server_error", "Internal error", logDetail, cause);
        }
    }

    /** Whether a failed upstream call may have been processed upstream; false for every non-upstream error. */
    public boolean mayHaveReachedUpstream() {
        return false;
    }
}
