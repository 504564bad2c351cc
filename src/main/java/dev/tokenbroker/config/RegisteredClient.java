package dev.tokenbroker.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One configured front-end client. {@link #toString()} leaves the secret and keys out.
 *
 * @param upstream the id of its upstream ({@link ConfiguredUpstream})
 * @param clientSecret present for {@code client_secret_basic} and {@code client_secret_post}, inline or from a file
 * @param signingKeys {@code private_key_jwt}: the first signs, all are published
 * @param tlsClientCertificate {@code tls_client_auth}: the PEM file of the client's key and certificate
 * @param maxSessionsPerUser most sessions one user may hold for this client; empty for unlimited
 * @param tokenEndpoint whether {@code POST /bff/token} gives a web page the access token
 * @param apis the APIs a web client's pages call through {@code /bff/api/<name>/...}, by name
 */
public record RegisteredClient(
        String name,
        String clientId,
        String upstream,
        Optional<ClientSecret> clientSecret,
        List<String> redirectUris,
        BrokerConfig.AuthMethod authMethod,
        SigningKeys signingKeys,
        BrokerConfig.AssertionAudience assertionAudience,
        Optional<Path> tlsClientCertificate,
        boolean rotateHandles,
        BrokerConfig.DpopMode dpop,
        OptionalInt maxSessionsPerUser,
        BrokerConfig.ClientMode mode,
        BrokerConfig.PkceMode pkce,
        BrokerConfig.ParMode par,
        String scope,
        List<String> allowedOrigins,
        List<String> returnTo,
        BrokerConfig.SameSite cookieSameSite,
        Optional<String> postLogoutRedirectUri,
        boolean tokenEndpoint,
        Map<String, BrokerConfig.Api> apis) {

    /** This client, asking for another scope when the broker starts its authorization requests. */
    public RegisteredClient withScope(String otherScope) {
        return new RegisteredClient(
                name,
                clientId,
                upstream,
                clientSecret,
                redirectUris,
                authMethod,
                signingKeys,
                assertionAudience,
                tlsClientCertificate,
                rotateHandles,
                dpop,
                maxSessionsPerUser,
                mode,
                pkce,
                par,
                otherScope,
                allowedOrigins,
                returnTo,
                cookieSameSite,
                postLogoutRedirectUri,
                tokenEndpoint,
                apis);
    }

    /** Whether the broker runs this client's authorization requests (web mode, or native with broker-held PKCE). */
    public boolean brokerRunsPkce() {
        return mode == BrokerConfig.ClientMode.WEB || pkce == BrokerConfig.PkceMode.BROKER;
    }

    @Override
    public String toString() {
        return "RegisteredClient[name=" + name + ", clientId=" + clientId + ", authMethod=" + authMethod + "]";
    }
}
