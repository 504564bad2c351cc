package dev.tokenbroker.api.admin;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tokenbroker.api.http.ErrorResponse;
import dev.tokenbroker.config.Clients;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.session.SessionStore.SessionInfo;
import dev.tokenbroker.token.AdminSessions;
import io.quarkus.vertx.http.ManagementInterface;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The session admin API, on Quarkus' management interface only (its own port, so a NetworkPolicy or ingress keeps it
 * internal); registered only when {@link AdminAuthentication} is configured:
 * <ul>
 * <li>{@code GET /admin/sessions?sub=…[&client=…]}: the user's sessions, metadata only;</li>
 * <li>{@code DELETE /admin/sessions/{id}}: ends one session;</li>
 * <li>{@code DELETE /admin/sessions?sub=…[&client=…]}: ends all of the user's sessions ("log out everywhere").</li>
 * </ul>
 * Errors use the one JSON error body: 400 {@code invalid_request}, 401 {@code invalid_token} (with
 * {@code WWW-Authenticate: Bearer}), 403 {@code insufficient_scope} (RFC 6750 §3.1), 404 for an unknown session, 503
 * when Redis fails.
 */
@Singleton
public class AdminRoutes {

    private static final Logger LOG = Logger.getLogger(AdminRoutes.class);
    /** Session ids are base64url hashes (see {@code Handles}). */
    private static final Pattern SESSION_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    /** One session as the admin API shows it. Times are epoch milliseconds. */
    record SessionView(
            @JsonProperty("session_id") String sessionId,
            @JsonProperty("client_id") String clientId,
            @JsonProperty("created") long created,
            @JsonProperty("last_refresh") Long lastRefresh,
            @JsonProperty("expires") long expires,
            @JsonProperty("scope") String scope,
            @JsonProperty("dpop_bound") boolean dpopBound) {
        static SessionView of(SessionInfo i) {
            return new SessionView(
                    i.sessionId(),
                    i.clientId(),
                    i.created(),
                    i.lastRefresh() == 0 ? null : i.lastRefresh(),
                    i.expires(),
                    i.scope().isEmpty() ? null : i.scope(),
                    i.dpopBound());
        }
    }

    private final AdminAuthentication authentication;
    // Resolved at the first request: the management router is built before the startup configuration check, and
    // building the session store here would report a bad encryption key as a stack trace instead of the check's lines.
    private final Instance<AdminSessions> sessions;
    private final Instance<Clients> clients;
    private final ObjectMapper json;

    AdminRoutes(
            AdminAuthentication authentication,
            Instance<AdminSessions> sessions,
            Instance<Clients> clients,
            ObjectMapper json) {
        this.authentication = authentication;
        this.sessions = sessions;
        this.clients = clients;
        this.json = json;
    }

    /** Fired only when {@code quarkus.management.enabled} is true. */
    void register(@Observes ManagementInterface management) {
        if (!authentication.enabled()) {
            LOG.info("Session admin API off (broker.admin.issuer, jwks-uri and audience not configured)");
            return;
        }
        Router router = management.router();
        router.get("/admin/sessions")
                .blockingHandler(
                        rc -> handle(rc, caller -> {
                            List<SessionView> list = sessions.get().list(caller, subject(rc), client(rc)).stream()
                                    .map(SessionView::of)
                                    .toList();
                            send(rc, 200, Map.of("sessions", list));
                        }),
                        false);
        router.delete("/admin/sessions")
                .blockingHandler(
                        rc -> handle(rc, caller -> {
                            int ended = sessions.get().endAll(caller, subject(rc), client(rc));
                            send(rc, 200, Map.of("sessions_ended", ended));
                        }),
                        false);
        router.delete("/admin/sessions/:id")
                .blockingHandler(
                        rc -> handle(rc, caller -> {
                            String id = rc.pathParam("id");
                            if (!SESSION_ID.matcher(id).matches()) {
                                throw new BrokerException.InvalidRequest("Malformed session id");
                            }
                            if (sessions.get().end(caller, id)) {
                                send(rc, 200, Map.of("sessions_ended", 1));
                            } else {
                                send(rc, 404, new ErrorResponse("not_found", "No such session"));
                            }
                        }),
                        false);
        LOG.info("Session admin API on the management interface: /admin/sessions");
    }

    private interface Action {
        void run(String caller) throws Exception;
    }

    private void handle(RoutingContext rc, Action action) {
        AdminAuthentication.Caller caller =
                authentication.authenticate(rc.request().getHeader("Authorization"));
        if (caller.refusal() == AdminAuthentication.Refusal.UNAUTHENTICATED) {
            rc.response().putHeader("WWW-Authenticate", "Bearer error=\"invalid_token\"");
            send(rc, 401, new ErrorResponse("invalid_token", "A valid admin bearer token is required"));
            return;
        }
        if (caller.refusal() == AdminAuthentication.Refusal.FORBIDDEN) {
            rc.response().putHeader("WWW-Authenticate", "Bearer error=\"insufficient_scope\"");
            send(rc, 403, new ErrorResponse("insufficient_scope", "The token lacks the admin scope"));
            return;
        }
        try {
            action.run(caller.subject());
        } catch (BrokerException e) {
            if (e.status() >= 500) {
                LOG.errorf(e.getCause(), "Admin API: %s", e.logDetail());
            }
            e.retryAfterSeconds().ifPresent(s -> rc.response().putHeader("Retry-After", Integer.toString(s)));
            send(rc, e.status(), new ErrorResponse(e.error(), e.getMessage()));
        } catch (Exception e) {
            LOG.error("Admin API: unexpected failure", e);
            send(rc, 500, new ErrorResponse("server_error", "Internal error"));
        }
    }

    private static String subject(RoutingContext rc) {
        List<String> values = rc.queryParam("sub");
        if (values.size() != 1 || values.get(0).isEmpty() || values.get(0).length() > 255) {
            throw new BrokerException.InvalidRequest("Query parameter 'sub' is required, once");
        }
        return values.get(0);
    }

    private String client(RoutingContext rc) {
        List<String> values = rc.queryParam("client");
        if (values.isEmpty()) {
            return null;
        }
        if (values.size() > 1 || clients.get().byClientId(values.get(0)).isEmpty()) {
            throw new BrokerException.InvalidRequest("Query parameter 'client' must name one registered client_id");
        }
        return values.get(0);
    }

    private void send(RoutingContext rc, int status, Object body) {
        try {
            rc.response()
                    .setStatusCode(status)
                    .putHeader("Content-Type", "application/json")
                    .putHeader("Cache-Control", "no-store")
                    .end(json.writeValueAsString(body));
        } catch (Exception e) {
            rc.fail(e);
        }
    }
}
