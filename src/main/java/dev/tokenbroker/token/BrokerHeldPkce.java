package dev.tokenbroker.token;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.session.AuthorizationTransactions;
import dev.tokenbroker.session.AuthorizationTransactions.Transaction;
import dev.tokenbroker.upstream.TokenIdentity;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

/**
 * Redeems a code of a native app with {@code pkce=broker}: the broker started the authorization request and keeps its
 * PKCE verifier and nonce; the app proves it is the one that asked by its own verifier of the challenge it gave then.
 * <ol>
 * <li>The transaction of the {@code state} is read, not consumed, and checked: this client's, the app's verifier, the
 * same redirect URI. Whoever merely knows the {@code state} (it travels in the redirect) cannot consume it for the
 * app.</li>
 * <li>Only then is it consumed, once: a concurrent redemption that took it first leaves {@code invalid_grant}.</li>
 * <li>The code is exchanged with the broker's verifier; the ID token must verify and carry the nonce the broker sent
 * (OIDC Core §3.1.3.7), or the new session ends at once (reason {@code invalid_login}). The exchange and this check are
 * {@link SessionWork}: a caller that went away leaves no session behind.</li>
 * </ol>
 */
@Singleton
public class BrokerHeldPkce {

    private static final Logger LOG = Logger.getLogger(BrokerHeldPkce.class);

    /** A redemption, its fields checked for syntax. {@link #toString()} is redacted. */
    public record Request(
            RegisteredClient client,
            String state,
            String code,
            String appVerifier,
            String redirectUri,
            String dpopKey) {
        @Override
        public String toString() {
            return "BrokerHeldPkce.Request[client=" + client.name() + "]";
        }
    }

    private final AuthorizationTransactions transactions;
    private final AuthorizationRequests requests;
    private final ExchangeCode exchangeCode;
    private final TokenIdentity identity;
    private final EndSession endSession;
    private final SessionWork work;

    BrokerHeldPkce(
            AuthorizationTransactions transactions,
            AuthorizationRequests requests,
            ExchangeCode exchangeCode,
            TokenIdentity identity,
            EndSession endSession,
            SessionWork work) {
        this.transactions = transactions;
        this.requests = requests;
        this.exchangeCode = exchangeCode;
        this.identity = identity;
        this.endSession = endSession;
        this.work = work;
    }

    public Uni<TokenResult> redeem(Request request) {
        RegisteredClient client = request.client();
        return transactions
                .peek(request.state())
                .map(found -> found.filter(t -> t.clientId().equals(client.clientId()))
                        .orElseThrow(AuthorizationRequests::unknownState))
                .invoke(transaction -> check(request, transaction))
                .chain(checked -> requests.take(client, request.state()))
                .chain(transaction -> work.outlivingCaller(
                        () -> exchange(request, transaction), result -> endSession.abandoned(client, result.handle())));
    }

    /**
     * One answer for every refusal before the transaction is consumed, the same as for an unknown state: whoever holds
     * only the state learns nothing from it, not even whether the login is still pending.
     */
    private static void check(Request request, Transaction transaction) {
        boolean verifierMatches = transaction.appChallenge() != null
                && MessageDigest.isEqual(
                        Handles.s256(request.appVerifier()).getBytes(StandardCharsets.US_ASCII),
                        transaction.appChallenge().getBytes(StandardCharsets.US_ASCII));
        boolean redirectMatches =
                request.redirectUri() == null || request.redirectUri().equals(transaction.redirectUri());
        if (!verifierMatches || !redirectMatches) {
            throw AuthorizationRequests.unknownState();
        }
    }

    private Uni<TokenResult> exchange(Request request, Transaction transaction) {
        RegisteredClient client = request.client();
        return exchangeCode
                .exchange(new ExchangeCode.Request(
                        client,
                        request.code(),
                        transaction.redirectUri(),
                        transaction.codeVerifier(),
                        request.dpopKey()))
                .call(result -> Uni.createFrom()
                        // Verifying may fetch the JWKS, a blocking call: on a worker thread.
                        .item(() -> identity.verifiedIdToken(result.idToken(), client))
                        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                        .invoke(idToken -> AuthorizationRequests.checkNonce(idToken, transaction))
                        .onFailure()
                        .call(() -> endSession
                                .loginRefused(client, result.handle())
                                // The refusal is the answer; a failed end leaves the session to its idle timeout.
                                .onFailure()
                                .recoverWithItem(e -> {
                                    LOG.warnf(
                                            "Could not end a session whose login was refused: %s",
                                            e.getClass().getSimpleName());
                                    return null;
                                })));
    }
}
