package dev.tokenbroker.api;

import dev.tokenbroker.config.RegisteredClient;
import dev.tokenbroker.token.TokenResult;

/**
 * One grant type of {@code POST /oauth2/token}: reads and checks its parameters, then calls its use case. A new
 * grant type is a new handler bean; {@link TokenResource} finds it by {@link #grantType()}.
 */
interface GrantHandler {

    /** The {@code grant_type} value it handles. */
    String grantType();

    /** The {@code operation} of its log line and metric. */
    String operation();

    TokenResult handle(RegisteredClient client, Params params, RequestFacts request);
}
