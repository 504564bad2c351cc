package dev.tokenbroker.api.http;

/**
 * The order of the Vert.x routes that every request passes before Quarkus REST's resources, in one place (lower runs
 * first; Quarkus REST's own routes come after all of them). No two routes that can match one request share a value,
 * so registration order never decides.
 */
final class FilterOrder {

    /** {@link BodyLimit}: a declared body over the limit is refused before anything reads it. */
    static final int BODY_LIMIT = Integer.MIN_VALUE;

    /** {@link Draining}: a broker that is shutting down refuses new requests before looking at them. */
    static final int DRAINING = Integer.MIN_VALUE + 1;

    /** {@link MalformedRequests}: a malformed target or content type is refused before CORS and the resources. */
    static final int REQUEST_SHAPE = Integer.MIN_VALUE + 2;

    /** {@link Cors}: preflights are answered before the resources, which would answer them 405. */
    static final int CORS = -100;

    /** {@link MalformedRequests}' failure handler, the first of the failure handlers (a separate chain). */
    static final int FAILURES = Integer.MIN_VALUE;

    private FilterOrder() {}
}
