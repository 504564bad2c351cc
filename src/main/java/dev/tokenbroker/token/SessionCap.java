package dev.tokenbroker.token;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.error.BrokerException;
import dev.tokenbroker.session.SessionStore;
import dev.tokenbroker.session.SessionStore.EndReason;
import dev.tokenbroker.session.SessionStore.SessionInfo;

/**
 * {@code broker.clients.<name>.max-sessions-per-user}: after a code exchange stored a new session, the user's oldest
 * sessions of that client end until at most the cap remain, the new one always kept.
 * <ol>
 * <li>Only for a client with a cap and a session with a known user ({@code sub}); nothing on the refresh path.</li>
 * <li>Read the user's session ids from the subject index (one SMEMBERS per encryption key) and each one's metadata
 * (one HMGET each): the index spans every client, and only a session's own record says its client, its creation time
 * and whether it is still alive.</li>
 * <li>Keep the new session and the newest {@code cap - 1} others of this client; end the rest, oldest first, through
 * {@link EndSession#endByBroker} (reason {@code max_sessions}: upstream refresh token revoked, audit line).</li>
 * </ol>
 * Two exchanges of one user at once both keep the newest sessions, so they agree on which ones end. Blocking: runs on
 * a worker thread.
 */
@Singleton
public class SessionCap {

    private static final Logger LOG = Logger.getLogger(SessionCap.class);

    private final SessionStore store;
    private final EndSession endSession;

    SessionCap(SessionStore store, EndSession endSession) {
        this.store = store;
        this.endSession = endSession;
    }

    /**
     * Best effort: a Redis failure here leaves the user above the cap until the next exchange (a WARN says so) rather
     * than failing an exchange whose session is already stored.
     *
     * @param subject the user of the new session, or null (then nothing is capped)
     * @return how many sessions ended
     */
    public int enforce(RegisteredClient client, String subject, String newSessionId) {
        if (client.maxSessionsPerUser().isEmpty() || subject == null) {
            return 0;
        }
        int cap = client.maxSessionsPerUser().getAsInt();
        try {
            List<SessionInfo> others = new ArrayList<>();
            // Runs on a worker thread (ExchangeCode hands it there): waiting for Redis here is fine.
            for (String id : store.sessionsOfSubject(subject).await().indefinitely()) {
                if (!id.equals(newSessionId)) {
                    store.info(id)
                            .await()
                            .indefinitely()
                            .filter(i -> i.clientId().equals(client.clientId()))
                            .ifPresent(others::add);
                }
            }
            int excess = others.size() + 1 - cap;
            if (excess <= 0) {
                return 0;
            }
            others.sort(Comparator.comparingLong(SessionInfo::created).thenComparing(SessionInfo::sessionId));
            int ended = 0;
            for (SessionInfo oldest : others.subList(0, excess)) {
                if (endSession
                        .endByBroker(oldest.sessionId(), client.clientId(), EndReason.MAX_SESSIONS)
                        .isPresent()) {
                    ended++;
                }
            }
            Audit.sessionCap(newSessionId, client.name(), cap, ended);
            return ended;
        } catch (BrokerException.StoreUnavailable e) {
            LOG.warnf(
                    "Could not apply broker.clients.%s.max-sessions-per-user after session %s: %s",
                    client.name(), newSessionId, e.logDetail());
            return 0;
        }
    }
}
