package dev.tokenbroker.config;

import java.util.List;
import java.util.OptionalInt;

/**
 * One configured front-end client. {@link #toString()} leaves the secret out.
 *
 * @param maxSessionsPerUser most sessions one user may hold for this client; empty for unlimited
 */
public record RegisteredClient(
        String name,
        String clientId,
        String clientSecret,
        List<String> redirectUris,
        BrokerConfig.AuthMethod authMethod,
        boolean rotateHandles,
        BrokerConfig.DpopMode dpop,
        OptionalInt maxSessionsPerUser) {

    @Override
    public String toString() {
        return "RegisteredClient[name=" + name + ", clientId=" + clientId + ", authMethod=" + authMethod + "]";
    }
}
