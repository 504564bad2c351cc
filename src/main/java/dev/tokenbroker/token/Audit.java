package dev.tokenbroker.token;

import org.jboss.logging.Logger;

/**
 * One structured line per security event, in the log category {@code dev.tokenbroker.audit}. Lines name the
 * session by its id (a hash that cannot be turned back into a handle) and the client by its configured name;
 * never token material.
 */
public final class Audit {

    private static final Logger LOG = Logger.getLogger("dev.tokenbroker.audit");

    private Audit() {}

    static void sessionCreated(String sessionId, String client, boolean dpopBound) {
        LOG.infof("event=session_created session=%s client=%s dpop=%s", sessionId, client, dpopBound);
    }

    /** DEBUG: every successful refresh rotates, and its INFO operation line already says so. */
    static void handleRotated(String sessionId, String client) {
        LOG.debugf("event=handle_rotated session=%s client=%s", sessionId, client);
    }

    static void reuseDetected(String sessionId, String client) {
        LOG.warnf("event=reuse_detected session=%s client=%s action=session_ended", sessionId, client);
    }

    static void sessionEnded(String sessionId, String client, String reason) {
        LOG.infof("event=session_ended session=%s client=%s reason=%s", sessionId, client, reason);
    }

    /** A code exchange took the user over the client's max-sessions-per-user; the oldest sessions ended. */
    static void sessionCap(String newSessionId, String client, int max, int ended) {
        LOG.infof(
                "event=max_sessions_per_user session=%s client=%s max=%d sessions_ended=%d action=oldest_sessions_ended",
                newSessionId, client, max, ended);
    }

    public static void dpopRefused(String client, String reason) {
        LOG.infof("event=dpop_refused client=%s reason=%s", client, reason);
    }

    static void backchannelLogout(String client, String by, int ended) {
        LOG.infof("event=backchannel_logout client=%s by=%s sessions_ended=%d", client, by, ended);
    }

    static void backchannelLogoutRejected(String reason) {
        LOG.infof("event=backchannel_logout_rejected reason=%s", reason);
    }

    /**
     * An administrator's action. The caller's subject comes from a verified token; anything outside a conservative
     * character set is replaced so that it cannot forge log lines.
     */
    static void admin(String caller, String action, String client, int sessions) {
        LOG.infof(
                "event=admin_action caller=%s action=%s client=%s sessions=%d",
                safe(caller), action, client == null ? "any" : client, sessions);
    }

    private static String safe(String value) {
        String v = value.length() > 128 ? value.substring(0, 128) : value;
        return v.replaceAll("[^A-Za-z0-9._:@|/+=-]", "_");
    }
}
