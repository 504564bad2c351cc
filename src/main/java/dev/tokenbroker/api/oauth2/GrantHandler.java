package dev.tokenbroker.api.oauth2;

import dev.tokenbroker.api.http.Params;
import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.token.TokenResult;
import io.smallrye.mutiny.Uni;

/**
 * One grant type of {@code POST /oauth2/token}: reads and checks its parameters, then calls its use case. A new
 * grant type is a new handler bean; {@link TokenResource} finds it by {@link #grantType()}.
 */
public interface GrantHandler {

    /** The {@code grant_type} value it handles. */
    String grantType();

    /** The {@code operation} of its log line and metric. */
    String operation();

    /**
     * Whether an {@code invalid_grant} answer costs the client's rate-limit buckets
     * {@code broker.rate-limit.failed-exchange-cost} requests instead of one: for grants whose failures may have
     * cost an upstream call that an attacker could repeat at will (replayed codes).
     */
    default boolean invalidGrantCostsExtra() {
        return false;
    }

    /** Parameter errors may be thrown; everything after them fails the returned {@link Uni}. */
    Uni<TokenResult> handle(RegisteredClient client, Params params, RequestFacts request);
}
