package dev.tokenbroker.token;

import org.jboss.logging.Logger;

/**
 * One structured line per security event, in the log category {@code dev.tokenbroker.audit}. Lines name the
 * session by its id (a hash that cannot be turned back into a handle) and the client by its configured name;
 * never token material.
 */
public final class Audit {

    private static final Logger LOG = Logger.getLogger("dev.tokenbroker.audit");

    private Audit() {
    }

    static void sessionCreated(String sessionId, String client, boolean dpopBound) {
        LOG.infof("event=session_created session=%s client=%s dpop=%s", sessionId, client, dpopBound);
    }

    static void handleRotated(String sessionId, String client) {
        LOG.infof("event=handle_rotated session=%s client=%s", sessionId, client);
    }

    static void reuseDetected(String sessionId, String client) {
        LOG.warnf("event=reuse_detected session=%s client=%s action=session_ended", sessionId, client);
    }

    static void sessionEnded(String sessionId, String client, String reason) {
        LOG.infof("event=session_ended session=%s client=%s reason=%s", sessionId, client, reason);
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
}
