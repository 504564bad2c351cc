package dev.tokenbroker.config;

import java.util.List;

/** One configured front-end client. {@link #toString()} leaves the secret out. */
public record RegisteredClient(
        String name,
        String clientId,
        String clientSecret,
        List<String> redirectUris,
        BrokerConfig.AuthMethod authMethod,
        boolean rotateHandles,
        BrokerConfig.DpopMode dpop) {

    @Override
    public String toString() {
        return "RegisteredClient[name=" + name + ", clientId=" + clientId + ", authMethod=" + authMethod + "]";
    }
}
