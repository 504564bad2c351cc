package dev.tokenbroker.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import jakarta.enterprise.inject.Default;
import jakarta.inject.Singleton;

import io.quarkus.runtime.Startup;

/**
 * The configured clients by {@code client_id}, checked once at startup: a bad entry stops the broker
 * with a message naming the property.
 */
@Startup
@Singleton
@Default
@CheckedAtStartup
public class Clients {

    private static final Pattern API_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    private static final Set<String> API_METHODS = Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE");
    private static final Set<String> API_RESERVED_HEADERS = new TreeSet<>(
            Set.of("authorization", "cookie", "host", "origin", "proxy-status", "set-cookie", "set-cookie2", "x-csrf"));

    /** RFC 6749 §2.3.1 leaves the length open; Duende caps id and secret at 100 characters. */
    static final int MAX_CREDENTIAL_LENGTH = 100;

    private final Map<String, RegisteredClient> byClientId = new HashMap<>();
    /** Every problem found, one line each, so that one start reports them all. */
    private final List<String> problems = new ArrayList<>();

    Clients(BrokerConfig config) {
        if (config.clients().isEmpty()) {
            throw new IllegalArgumentException("broker.clients: configure at least one client "
                    + "(broker.clients.<name>.client-id, client-secret, redirect-uris)");
        }
        Map<String, ConfiguredUpstream> upstreams = new HashMap<>();
        ConfiguredUpstream.allOrNone(config).forEach(u -> upstreams.put(u.id(), u));
        config.clients().forEach((name, c) -> {
            String prefix = "broker.clients." + name + ".";
            require(
                    !c.clientId().isBlank() && c.clientId().length() <= MAX_CREDENTIAL_LENGTH,
                    prefix + "client-id must be 1 to " + MAX_CREDENTIAL_LENGTH + " characters");
            String upstreamId = c.upstream().orElse(ConfiguredUpstream.DEFAULT);
            ConfiguredUpstream upstream = upstreams.get(upstreamId);
            require(
                    upstream != null,
                    prefix + "upstream: "
                            + (c.upstream().isPresent()
                                    ? "'" + upstreamId + "' is not in broker.upstreams"
                                    : "unset, and broker.upstream.issuer (or token-endpoint) is not configured:"
                                            + " name one of broker.upstreams "
                                            + config.upstreams().keySet()));
            Credentials credentials = checkCredentials(
                    prefix, c, upstream == null ? new ConfiguredUpstream(upstreamId, config.upstream()) : upstream);
            require(!c.redirectUris().isEmpty(), prefix + "redirect-uris must list at least one URI");
            c.redirectUris()
                    .forEach(uri -> require(
                            isAbsoluteWithoutFragment(uri),
                            prefix + "redirect-uris: '" + uri + "' is not an absolute URI without fragment"));
            RegisteredClient client = new RegisteredClient(
                    name,
                    c.clientId(),
                    upstreamId,
                    credentials.secret(),
                    c.redirectUris(),
                    c.authMethod(),
                    credentials.keys(),
                    c.assertionAudience(),
                    c.tlsClientCertificate(),
                    c.rotateHandles().orElse(c.mode() != BrokerConfig.ClientMode.WEB),
                    c.dpop(),
                    c.maxSessionsPerUser(),
                    c.mode(),
                    c.pkce(),
                    c.par(),
                    c.scope(),
                    c.allowedOrigins().orElse(List.of()),
                    c.returnTo().orElse(List.of()),
                    c.cookieSameSite(),
                    c.postLogoutRedirectUri(),
                    c.tokenEndpoint() == BrokerConfig.Toggle.ON,
                    Map.copyOf(c.apis()));
            checkBrowserSettings(prefix, client);
            checkApis(prefix, client);
            require(
                    c.maxSessionsPerUser().orElse(1) >= 1,
                    prefix + "max-sessions-per-user must be at least 1 (leave it unset for no limit)");
            RegisteredClient clash = byClientId.put(c.clientId(), client);
            require(
                    c.dpop() == BrokerConfig.DpopMode.off
                            || config.externalBaseUrl().isPresent(),
                    prefix + "dpop needs broker.external-base-url (the URL front ends put in a DPoP proof's htu)");
            require(
                    clash == null,
                    prefix + "client-id '" + c.clientId() + "' is also used by broker.clients."
                            + (clash == null ? "" : clash.name()));
        });
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", problems));
        }
    }

    /** Whether any client may bind sessions to DPoP keys. */
    public boolean anyUsesDpop() {
        return byClientId.values().stream().anyMatch(c -> c.dpop() != BrokerConfig.DpopMode.off);
    }

    /** Every configured {@code client_id}. */
    public java.util.Set<String> clientIds() {
        return java.util.Set.copyOf(byClientId.keySet());
    }

    /** The {@code client_id} of every client registered at the upstream {@code upstream}. */
    public java.util.Set<String> clientIdsAt(String upstream) {
        return byClientId.values().stream()
                .filter(c -> c.upstream().equals(upstream))
                .map(RegisteredClient::clientId)
                .collect(java.util.stream.Collectors.toUnmodifiableSet());
    }

    /**
     * What binds an upstream refresh token the broker stores for {@code clientId} to the client's upstream, added to
     * the associated data of its envelope, right after the field's name (where {@code @} stands nowhere else): should
     * the client be moved to another upstream, its stored tokens no longer decrypt and are never sent there. Empty
     * for the default upstream (and a client no longer configured), so tokens stored before there were several
     * upstreams stay readable.
     */
    public String upstreamBinding(String clientId) {
        return byClientId(clientId)
                .map(RegisteredClient::upstream)
                .filter(upstream -> !ConfiguredUpstream.DEFAULT.equals(upstream))
                .map(upstream -> "@" + upstream)
                .orElse("");
    }

    public Optional<RegisteredClient> byClientId(String clientId) {
        return Optional.ofNullable(clientId == null ? null : byClientId.get(clientId));
    }

    /** Web clients only: every registered web client. */
    public List<RegisteredClient> webClients() {
        return byClientId.values().stream()
                .filter(c -> c.mode() == BrokerConfig.ClientMode.WEB)
                .toList();
    }

    /** The clients that allow this browser origin ({@code allowed-origins}). */
    public List<RegisteredClient> allowingOrigin(String origin) {
        return byClientId.values().stream()
                .filter(c -> c.allowedOrigins().contains(origin))
                .toList();
    }

    /** A client's secret (secret methods) or keys ({@code private_key_jwt}), as read at start. */
    private record Credentials(Optional<ClientSecret> secret, SigningKeys keys) {
        static final Credentials NONE = new Credentials(Optional.empty(), SigningKeys.NONE);
    }

    /**
     * A secret for the secret methods, keys for {@code private_key_jwt}, a certificate for {@code tls_client_auth},
     * never another: a credential the broker would not send is a mistake.
     */
    private Credentials checkCredentials(String prefix, BrokerConfig.Client c, ConfiguredUpstream upstream) {
        List<Path> files = c.privateKeys().orElse(List.of());
        BrokerConfig.AuthMethod method = c.authMethod();
        require(
                method == BrokerConfig.AuthMethod.private_key_jwt
                        || files.isEmpty() && c.signingAlgorithm().isEmpty(),
                prefix + "private-keys and signing-algorithm are used only with auth-method=private_key_jwt");
        require(
                c.privateKeysPassword().isEmpty() || method == BrokerConfig.AuthMethod.private_key_jwt,
                prefix + "private-keys-password is used only with auth-method=private_key_jwt");
        require(
                method == BrokerConfig.AuthMethod.tls_client_auth
                        || c.tlsClientCertificate().isEmpty(),
                prefix + "tls-client-certificate is used only with auth-method=tls_client_auth");
        if (method == BrokerConfig.AuthMethod.client_secret_basic
                || method == BrokerConfig.AuthMethod.client_secret_post) {
            return new Credentials(secretOf(prefix, c), SigningKeys.NONE);
        }
        require(
                c.clientSecret().isEmpty() && c.clientSecretFile().isEmpty(),
                prefix + "client-secret is not sent with auth-method=" + method + ": remove it");
        if (method == BrokerConfig.AuthMethod.tls_client_auth) {
            checkTlsClientCertificate(prefix, c.tlsClientCertificate());
            return Credentials.NONE;
        }
        require(!files.isEmpty(), prefix + "private-keys must name at least one key file for private_key_jwt");
        require(
                c.assertionAudience() != BrokerConfig.AssertionAudience.ISSUER
                        || upstream.settings().issuer().isPresent(),
                prefix + "assertion-audience=issuer needs " + upstream.property("issuer"));
        try {
            return new Credentials(
                    Optional.empty(),
                    SigningKeys.read(
                            files, c.signingAlgorithm(), c.privateKeysPassword().orElse("")));
        } catch (IllegalArgumentException e) {
            for (String problem : e.getMessage().split("\n")) {
                problems.add(prefix + "private-keys: " + problem);
            }
            return Credentials.NONE;
        }
    }

    /** Exactly one of {@code client-secret} and {@code client-secret-file}, and a secret that fits. */
    private Optional<ClientSecret> secretOf(String prefix, BrokerConfig.Client c) {
        if (c.clientSecretFile().isPresent()) {
            require(c.clientSecret().isEmpty(), prefix + "client-secret and client-secret-file: set one of them");
            try {
                return Optional.of(ClientSecret.read(c.clientSecretFile().get()));
            } catch (IllegalArgumentException e) {
                problems.add(
                        prefix + "client-secret-file: " + c.clientSecretFile().get() + " " + e.getMessage());
                return Optional.empty();
            }
        }
        require(
                c.clientSecret()
                        .filter(s -> !s.isBlank() && s.length() <= MAX_CREDENTIAL_LENGTH)
                        .isPresent(),
                prefix + "client-secret must be 1 to " + MAX_CREDENTIAL_LENGTH + " characters");
        return c.clientSecret().map(ClientSecret::of);
    }

    /** Read as a signing key would be: bounded, one private key, its certificate first and of that key. */
    private void checkTlsClientCertificate(String prefix, Optional<Path> file) {
        if (file.isEmpty()) {
            problems.add(prefix + "tls-client-certificate must name the PEM file of the client's key and certificate"
                    + " for tls_client_auth");
            return;
        }
        try {
            require(
                    SigningKey.read(file.get(), Optional.empty()).certificate().isPresent(),
                    prefix + "tls-client-certificate: " + file.get() + " holds no CERTIFICATE");
        } catch (IllegalArgumentException e) {
            problems.add(prefix + "tls-client-certificate: " + file.get() + " " + e.getMessage());
        }
    }

    /** API names that can be a path segment; URLs as {@link SecureUrls} wants them; only web clients have APIs. */
    private void checkApis(String prefix, RegisteredClient client) {
        require(
                client.apis().isEmpty() || client.mode() == BrokerConfig.ClientMode.WEB,
                prefix + "apis: only web clients (mode=web) call APIs through /bff/api/");
        client.apis().forEach((name, api) -> {
            String at = prefix + "apis." + name + ".";
            require(
                    API_NAME.matcher(name).matches(),
                    at.substring(0, at.length() - 1)
                            + ": lower-case letters, digits and '-' only (it is a path segment of /bff/api/)");
            require(
                    api.url().getHost() != null && SecureUrls.isSecureOrLoopback(api.url()),
                    at + "url: '" + api.url() + "' must be an https URL (plain http only on loopback)");
            require(
                    api.url().getRawQuery() == null && api.url().getRawFragment() == null,
                    at + "url: '" + api.url() + "' must have no query or fragment");
            require(
                    api.url().getRawUserInfo() == null,
                    at + "url: must carry no user info (the broker sends the session's access token, nothing else)");
            api.requestHeaders().forEach(header -> checkApiHeader(at + "request-headers", header));
            api.responseHeaders().forEach(header -> checkApiHeader(at + "response-headers", header));
            api.methods()
                    .forEach(method -> require(
                            API_METHODS.contains(method),
                            at + "methods: '" + method + "' is not one of " + API_METHODS));
        });
    }

    /**
     * Names are compared in lower case; none may carry the browser's credentials to the API or let the API set the
     * broker's cookies or speak for it.
     */
    private void checkApiHeader(String property, String header) {
        require(header.equals(header.toLowerCase(Locale.ROOT)), property + ": '" + header + "' must be lower case");
        require(
                !API_RESERVED_HEADERS.contains(header.toLowerCase(Locale.ROOT)),
                property + ": '" + header + "' is never passed through (one of " + API_RESERVED_HEADERS + ")");
    }

    private void checkBrowserSettings(String prefix, RegisteredClient client) {
        client.allowedOrigins()
                .forEach(origin -> require(
                        Origins.isOrigin(origin),
                        prefix + "allowed-origins: '" + origin
                                + "' is not an origin (scheme://host[:port], no path, no trailing slash)"));
        client.returnTo()
                .forEach(uri -> require(
                        Origins.isHttpUrl(uri),
                        prefix + "return-to: '" + uri + "' is not an absolute http(s) URL without fragment"));
        client.allowedOrigins().stream()
                .filter(Origins::isOrigin)
                .forEach(origin -> require(
                        Origins.isSecureOrLoopback(origin),
                        prefix + "allowed-origins: '" + origin + "' must be https (plain http only on loopback)"));
        client.returnTo().stream()
                .filter(Origins::isHttpUrl)
                .forEach(uri -> require(
                        Origins.isSecureOrLoopback(uri),
                        prefix + "return-to: '" + uri + "' must be https (plain http only on loopback)"));
        if (client.mode() == BrokerConfig.ClientMode.WEB) {
            require(
                    !client.returnTo().isEmpty(),
                    prefix + "return-to must list at least one URL or origin for a web client");
            require(
                    !client.allowedOrigins().isEmpty(),
                    prefix + "allowed-origins must list the origins of the web client's pages "
                            + "(they must send Origin with every POST to /bff/*)");
            require(
                    client.redirectUris().stream().anyMatch(u -> u.endsWith(Origins.CALLBACK_PATH)),
                    prefix + "redirect-uris must contain the broker's own <origin>" + Origins.CALLBACK_PATH
                            + " for a web client");
        }
    }

    private static boolean isAbsoluteWithoutFragment(String uri) {
        try {
            URI parsed = new URI(uri);
            return parsed.isAbsolute() && parsed.getFragment() == null;
        } catch (URISyntaxException e) {
            return false;
        }
    }

    private void require(boolean condition, String message) {
        if (!condition) {
            problems.add(message);
        }
    }
}
