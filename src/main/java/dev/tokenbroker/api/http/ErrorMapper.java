package dev.tokenbroker.api.http;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;

import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;

import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import dev.tokenbroker.error.BrokerException;
import io.vertx.core.http.HttpClosedException;

/**
 * The one RFC 6749 §5.2 JSON error body, for every entry point: {@link BrokerException}s, what the framework rejects
 * before any resource runs (404, 405, 406, 415, malformed bodies) and anything unexpected.
 * Client errors are logged at INFO without a stack, server errors at ERROR with one; a client that hung up
 * mid-request is neither (DEBUG, answered as a malformed request that nobody reads). Only the fixed public
 * description reaches the caller.
 */
public class ErrorMapper {

    private static final Logger LOG = Logger.getLogger(ErrorMapper.class);

    private final AllowedMethods allowedMethods;

    ErrorMapper(AllowedMethods allowedMethods) {
        this.allowedMethods = allowedMethods;
    }

    /**
     * Every entry point's {@link BrokerException}, as the RFC 6749 §5.2 body. A resource that must answer otherwise
     * (back-channel logout) declares its own mapper, which takes precedence.
     */
    @ServerExceptionMapper
    public Response broker(BrokerException e) {
        return oauthError(e);
    }

    /** The JSON error body of {@code e}, logged as its status says. */
    public static Response oauthError(BrokerException e) {
        if (e.status() >= 500) {
            LOG.errorf(e.getCause(), "%s (%d %s)", e.logDetail(), e.status(), e.error());
        } else {
            LOG.infof("Rejected request: %d %s: %s", e.status(), e.error(), e.logDetail());
        }
        Response.ResponseBuilder builder = body(e.status(), e.error(), e.getMessage());
        e.retryAfterSeconds().ifPresent(seconds -> builder.header("Retry-After", Integer.toString(seconds)));
        return builder.build();
    }

    /** 404, 405, 406, 415 and malformed bodies found by the framework. */
    @ServerExceptionMapper
    public Response web(WebApplicationException e, UriInfo uri) {
        int status = e.getResponse().getStatus();
        if (status >= 500) {
            LOG.error("Request failed", e);
            return body(500, "server_error", "Internal error").build();
        }
        LOG.infof("Rejected request: %d %s", status, e.getClass().getSimpleName());
        Response.ResponseBuilder builder = body(status, "invalid_request", describe(status));
        if (status == 405) {
            // RFC 9110 §15.5.6: a 405 lists the methods the resource has.
            allowedMethods.forPath(uri.getPath()).ifPresent(allow -> builder.header("Allow", allow));
        }
        return builder.build();
    }

    @ServerExceptionMapper
    public Response unexpected(Throwable e) {
        if (clientClosedConnection(e)) {
            // The caller hung up before its request was complete (a body read on a worker thread fails so): nothing
            // went wrong here and nobody will read an answer. Not a 5xx, so not in the error metrics.
            LOG.debugf(
                    "Client closed the connection mid-request: %s", e.getClass().getSimpleName());
            return body(400, "invalid_request", describe(400)).build();
        }
        if (e instanceof IOException && "Request too large".equals(e.getMessage())) {
            // A chunked body over quarkus.http.limits.max-body-size, read on a worker thread (BodyLimit answers the
            // requests that declare their length before any of this).
            LOG.infof("Rejected request: 413 body over the size limit");
            return body(413, "invalid_request", describe(413)).build();
        }
        LOG.error("Unexpected failure", e);
        return body(500, "server_error", "Internal error").build();
    }

    /** Whether {@code e} is, somewhere in its causes, Vert.x telling that the client's connection closed. */
    static boolean clientClosedConnection(Throwable e) {
        Throwable t = e;
        for (int depth = 0; t != null && depth < 16; depth++, t = t.getCause()) {
            if (t instanceof HttpClosedException || t instanceof ClosedChannelException) {
                return true;
            }
        }
        return false;
    }

    static Response.ResponseBuilder body(int status, String error, String description) {
        return NoStore.headers(Response.status(status)
                .type(MediaType.APPLICATION_JSON_TYPE)
                .entity(new ErrorResponse(error, description)));
    }

    static String describe(int status) {
        return switch (status) {
            case 404 -> "No such endpoint";
            case 405 -> "Method not allowed";
            case 406 -> "Only application/json responses are available";
            case 413 -> "Request body too large";
            case 415 -> "Content-Type must be application/x-www-form-urlencoded or application/json";
            default -> "Malformed request";
        };
    }
}
