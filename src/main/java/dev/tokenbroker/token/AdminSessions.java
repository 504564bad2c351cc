package dev.tokenbroker.token;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import jakarta.inject.Singleton;

import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.session.SessionStore;
import dev.tokenbroker.session.SessionStore.EndReason;
import dev.tokenbroker.session.SessionStore.SessionInfo;

/**
 * What an operator may do to sessions ("this account was compromised: end everything"): list a user's sessions
 * (metadata only), end one, end all of a user's, optionally for one client. Every end goes through
 * {@link EndSession#endByBroker}, so upstream refresh tokens are revoked; every action writes an audit line naming
 * the caller's subject.
 */
@Singleton
public class AdminSessions {

    private final SessionStore store;
    private final EndSession endSession;
    private final Clients clients;

    AdminSessions(SessionStore store, EndSession endSession, Clients clients) {
        this.store = store;
        this.endSession = endSession;
        this.clients = clients;
    }

    /** The configured name of a client id, as audit lines name clients; null for any client. */
    private String name(String clientId) {
        return clientId == null
                ? null
                : clients.byClientId(clientId).map(RegisteredClient::name).orElse("unknown");
    }

    /** The user's live sessions, oldest first. */
    public List<SessionInfo> list(String caller, String subject, String clientId) {
        List<SessionInfo> sessions = new ArrayList<>();
        // Runs on a worker thread (the admin API): waiting for Redis here is fine.
        for (String id : store.sessionsOfSubject(subject).await().indefinitely()) {
            store.info(id)
                    .await()
                    .indefinitely()
                    .filter(i -> clientId == null || clientId.equals(i.clientId()))
                    .ifPresent(sessions::add);
        }
        sessions.sort(java.util.Comparator.comparingLong(SessionInfo::created));
        Audit.admin(caller, "list_sessions", name(clientId), sessions.size());
        return sessions;
    }

    /** @return whether a session was ended */
    public boolean end(String caller, String sessionId) {
        Optional<String> client = endSession.endByBroker(sessionId, null, EndReason.ADMIN);
        Audit.admin(caller, "end_session", client.orElse(null), client.isPresent() ? 1 : 0);
        return client.isPresent();
    }

    /** "Log out everywhere": every session of the user, or only those of one client. @return how many ended */
    public int endAll(String caller, String subject, String clientId) {
        int ended = 0;
        for (String id : store.sessionsOfSubject(subject).await().indefinitely()) {
            if (endSession.endByBroker(id, clientId, EndReason.ADMIN).isPresent()) {
                ended++;
            }
        }
        Audit.admin(caller, "end_user_sessions", name(clientId), ended);
        return ended;
    }
}
