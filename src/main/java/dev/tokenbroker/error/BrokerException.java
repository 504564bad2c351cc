package dev.tokenbroker.error;

/**
 * The one error model. Each subclass fixes the HTTP status and the RFC 6749 §5.2 error code.
 * The message is the public {@code error_description}; {@link #logDetail()} is for the log only.
 * Neither may ever contain token material.
 */
public abstract sealed class BrokerException extends RuntimeException {

    private final String logDetail;

    private BrokerException(String description, String logDetail, Throwable cause) {
        super(description, cause, false, cause != null);
        this.logDetail = logDetail;
    }

    public abstract int status();

    public abstract String error();

    /** Detail for operators; never sent to the caller. */
    public String logDetail() {
        return logDetail == null ? getMessage() : logDetail;
    }

    /** Malformed, missing or repeated parameter. */
    public static final class InvalidRequest extends BrokerException {
        public InvalidRequest(String description) {
            super(description, null, null);
        }
        public int status() { return 400; }
        public String error() { return "invalid_request"; }
    }

    /** Unknown {@code client_id}. */
    public static final class InvalidClient extends BrokerException {
        public InvalidClient(String description) {
            super(description, null, null);
        }
        public int status() { return 401; }
        public String error() { return "invalid_client"; }
    }

    /** Code or refresh handle unknown, expired, used, or issued to another client. */
    public static final class InvalidGrant extends BrokerException {
        public InvalidGrant(String description) {
            super(description, null, null);
        }
        public int status() { return 400; }
        public String error() { return "invalid_grant"; }
    }

    /** Requested scope wider than the session's. */
    public static final class InvalidScope extends BrokerException {
        public InvalidScope(String description) {
            super(description, null, null);
        }
        public int status() { return 400; }
        public String error() { return "invalid_scope"; }
    }

    public static final class UnsupportedGrantType extends BrokerException {
        public UnsupportedGrantType(String description) {
            super(description, null, null);
        }
        public int status() { return 400; }
        public String error() { return "unsupported_grant_type"; }
    }

    /** The upstream rejected the broker's own client credentials: an operator must fix the configuration. */
    public static final class UpstreamRejectedBroker extends BrokerException {
        public UpstreamRejectedBroker(String logDetail) {
            super("The upstream authorization server rejected the broker's client configuration", logDetail, null);
        }
        public int status() { return 502; }
        public String error() { return "server_error"; }
    }

    /** Upstream 5xx, connection failure or an answer that is not OAuth JSON. */
    public static final class UpstreamUnavailable extends BrokerException {
        public UpstreamUnavailable(String logDetail, Throwable cause) {
            super("The upstream authorization server is unavailable", logDetail, cause);
        }
        public int status() { return 502; }
        public String error() { return "temporarily_unavailable"; }
    }

    public static final class UpstreamTimeout extends BrokerException {
        public UpstreamTimeout(String logDetail, Throwable cause) {
            super("The upstream authorization server did not answer in time", logDetail, cause);
        }
        public int status() { return 504; }
        public String error() { return "temporarily_unavailable"; }
    }

    /** Redis unreachable; the caller may retry. */
    public static final class StoreUnavailable extends BrokerException {
        public StoreUnavailable(String logDetail, Throwable cause) {
            super("The session store is unavailable, retry later", logDetail, cause);
        }
        public int status() { return 503; }
        public String error() { return "temporarily_unavailable"; }
    }

    /**
     * Another refresh of the same session did not finish in time, or this process lost its claim on it;
     * nothing was changed and the caller may retry.
     */
    public static final class RefreshContended extends BrokerException {
        public RefreshContended(String logDetail) {
            super("The session is being refreshed elsewhere, retry later", logDetail, null);
        }
        public int status() { return 503; }
        public String error() { return "temporarily_unavailable"; }
    }

    public static final class ServerError extends BrokerException {
        public ServerError(String logDetail, Throwable cause) {
            super("Internal error", logDetail, cause);
        }
        public int status() { return 500; }
        public String error() { return "server_error"; }
    }
}
