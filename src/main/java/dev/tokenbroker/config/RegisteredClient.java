package dev.tokenbroker.config;

import java.util.List;
import java.util.Optional;

/** One configured front-end client. {@link #toString()} leaves the secret out. */
public record RegisteredClient(
        String name,
        String clientId,
        String clientSecret,
        List<String> redirectUris,
        BrokerConfig.AuthMethod authMethod,
        boolean rotateHandles,
        BrokerConfig.DpopMode dpop,
        BrokerConfig.ClientMode mode,
        BrokerConfig.PkceMode pkce,
        String scope,
        List<String> allowedOrigins,
        List<String> returnTo,
        BrokerConfig.SameSite cookieSameSite,
        Optional<String> postLogoutRedirectUri) {

    /** Whether the broker runs this client's authorization requests (web mode, or native with broker-held PKCE). */
    public boolean brokerRunsPkce() {
        return mode == BrokerConfig.ClientMode.WEB || pkce == BrokerConfig.PkceMode.BROKER;
    }

    @Override
    public String toString() {
        return "RegisteredClient[name=" + name + ", clientId=" + clientId + ", authMethod=" + authMethod + "]";
    }
}
