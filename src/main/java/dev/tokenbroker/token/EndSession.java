package dev.tokenbroker.token;

import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

import jakarta.inject.Singleton;

import dev.tokenbroker.config.Clients;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.session.ActiveSessions;
import dev.tokenbroker.session.SessionStore;
import dev.tokenbroker.session.SessionStore.Begin.Ended.Taken;
import dev.tokenbroker.session.SessionStore.EndReason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;

/**
 * The one way a session ends, whatever ends it: the app's revocation, a reused handle, the upstream declaring the
 * refresh token dead, a deadline, a store failure that left an orphan. Each end drops the session from the indexes,
 * revokes its upstream refresh token when it may still be alive, writes an audit line and counts the reason.
 */
@Singleton
public class EndSession {

    private final SessionStore store;
    private final UpstreamRevocations revocations;
    private final Clients clients;
    private final ActiveSessions active;
    private final SessionWork work;
    private final Map<EndReason, Counter> ended = new EnumMap<>(EndReason.class);
    private final Counter reuseDetected;

    EndSession(
            SessionStore store,
            UpstreamRevocations revocations,
            Clients clients,
            ActiveSessions active,
            SessionWork work,
            MeterRegistry registry) {
        this.work = work;
        this.store = store;
        this.revocations = revocations;
        this.clients = clients;
        this.active = active;
        for (EndReason reason : EndReason.values()) {
            ended.put(
                    reason,
                    Counter.builder("broker.sessions.ended")
                            .description("Sessions ended, by reason")
                            .tag("reason", reason.label)
                            .register(registry));
        }
        this.reuseDetected = Counter.builder("broker.session.reuse.detected")
                .description("Retired handles presented after their grace: sessions ended as stolen")
                .register(registry);
    }

    /**
     * RFC 7009: ends the session behind a handle and revokes its upstream refresh token. Unknown handles, handles
     * of other clients and sessions bound to another DPoP key are ignored, so the answer never tells whether a
     * handle exists. {@link SessionWork}: a caller that hangs up does not stop the end or the upstream revocation.
     *
     * @param dpopKey thumbprint of the key of the request's verified DPoP proof, or null
     * @return whether this call ended a session
     */
    public Uni<Boolean> revoke(RegisteredClient client, String handle, String dpopKey) {
        Optional<Handles.Handle> parsed = Handles.parse(handle);
        if (parsed.isEmpty()) {
            return Uni.createFrom().item(false);
        }
        String sessionId = parsed.get().sessionId();
        // Only the current handle (or the one just retired, within its grace) revokes: the session key alone, or an
        // old handle, ends nothing here.
        return work.outlivingCaller(
                () -> store.take(
                                sessionId,
                                client.clientId(),
                                null,
                                dpopKey,
                                parsed.get().secretHash())
                        .chain(taken -> taken.isEmpty()
                                ? Uni.createFrom().item(false)
                                : finish(sessionId, client, EndReason.REVOKED, taken.get())
                                        .replaceWith(true)),
                ended -> Uni.createFrom().voidItem());
    }

    /**
     * A session opened for a caller that went away before its answer: nobody holds its handle, so it ends at once and
     * its upstream refresh token is revoked.
     */
    Uni<Void> abandoned(RegisteredClient client, String handle) {
        return endUnanswered(client, handle, EndReason.ABANDONED);
    }

    /** A session whose login failed a check after the exchange (the ID token's nonce): its handle is never answered. */
    Uni<Void> loginRefused(RegisteredClient client, String handle) {
        return endUnanswered(client, handle, EndReason.INVALID_LOGIN);
    }

    /**
     * RFC 6749 §4.1.2, as an authorization server does it: a code exchanged again ends the session its first exchange
     * opened. That session's answer was lost (the app would not retry otherwise) or someone else holds the code and
     * its verifier.
     */
    Uni<Void> codeReused(RegisteredClient client, String sessionId) {
        return end(client, sessionId, EndReason.CODE_REUSED);
    }

    private Uni<Void> endUnanswered(RegisteredClient client, String handle, EndReason reason) {
        return Handles.parse(handle)
                .map(parsed -> end(client, parsed.sessionId(), reason))
                .orElse(Uni.createFrom().voidItem());
    }

    private Uni<Void> end(RegisteredClient client, String sessionId, EndReason reason) {
        return store.take(sessionId, client.clientId(), null, SessionStore.ANY_KEY, null)
                .chain(taken ->
                        taken.isEmpty() ? Uni.createFrom().voidItem() : finish(sessionId, client, reason, taken.get()));
    }

    /** Ends the session because the upstream declared its refresh token dead, unless a newer one was committed. */
    Uni<Void> upstreamRejected(String sessionId, RegisteredClient client, long version) {
        return store.take(sessionId, client.clientId(), version, SessionStore.ANY_KEY, null)
                .chain(taken -> taken.isEmpty()
                        ? Uni.createFrom().voidItem()
                        : finish(
                                sessionId,
                                client,
                                EndReason.UPSTREAM_INVALID_GRANT,
                                new Taken(
                                        Optional.empty(),
                                        taken.get().subjectTag(),
                                        taken.get().sidTag())));
    }

    /** A refresh found the session past a deadline or presented with a retired handle; its script deleted it. */
    Uni<Void> endedByRefresh(String sessionId, RegisteredClient client, EndReason reason, Taken taken) {
        if (reason == EndReason.REUSE) {
            reuseDetected.increment();
            Audit.reuseDetected(sessionId, client.name());
        }
        return finish(sessionId, client, reason, taken);
    }

    /** A refresh token the upstream issued that no stored session holds: it must not stay alive. */
    Uni<Void> revokeOrphan(RegisteredClient client, String refreshToken) {
        ended.get(EndReason.ORPHAN).increment();
        return revocations.revoke(client, refreshToken);
    }

    /**
     * The broker's own decision (back-channel logout, an administrator, the per-user cap): ends the session whatever
     * DPoP key it is bound to, and revokes its upstream refresh token with the credentials of the client it belongs
     * to.
     *
     * @param clientId only if the session belongs to this client, or null for any
     * @return the name of the session's client when this call ended it; empty when there was no such session
     */
    public Optional<String> endByBroker(String sessionId, String clientId, EndReason reason) {
        // Runs on a worker thread (back-channel logout, admin, the per-user cap): waiting here is fine.
        return store.takeOwned(sessionId, clientId).await().indefinitely().map(owned -> {
            Optional<RegisteredClient> client = clients.byClientId(owned.clientId());
            if (client.isPresent()) {
                finish(sessionId, client.get(), reason, owned.taken()).await().indefinitely();
                return client.get().name();
            }
            // A client removed from the configuration: no credentials to revoke with at the upstream.
            store.unindex(sessionId, owned.taken().subjectTag(), owned.taken().sidTag());
            active.ended(owned.clientId(), sessionId);
            ended.get(reason).increment();
            Audit.sessionEnded(sessionId, "unknown", reason.label);
            return "unknown";
        });
    }

    private Uni<Void> finish(String sessionId, RegisteredClient client, EndReason reason, Taken taken) {
        active.ended(client.clientId(), sessionId);
        ended.get(reason).increment();
        Audit.sessionEnded(sessionId, client.name(), reason.label);
        store.unindex(sessionId, taken.subjectTag(), taken.sidTag());
        return taken.refreshToken()
                .map(rt -> revocations.revoke(client, rt))
                .orElse(Uni.createFrom().voidItem());
    }
}
