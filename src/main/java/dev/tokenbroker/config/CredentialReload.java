package dev.tokenbroker.config;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.quarkus.runtime.Startup;
import io.vertx.core.Vertx;

/**
 * Reads the files a client authenticates with again every {@code tls-reload-interval} of its upstream, on a worker
 * thread: {@code private-keys} ({@link SigningKeys#reload}) and {@code client-secret-file} ({@link ClientSecret#reload}).
 * What checks out is used from the next upstream call (and published at {@code /oauth2/jwks}, for keys); what does
 * not is refused with a WARN that shows no key or secret, and the credential in use stays. The TLS files are
 * {@code UpstreamHttp}'s.
 */
@Startup
@Singleton
class CredentialReload {

    private static final Logger LOG = Logger.getLogger(CredentialReload.class);

    CredentialReload(Vertx vertx, Clients clients, BrokerConfig config) {
        for (String clientId : clients.clientIds()) {
            RegisteredClient client = clients.byClientId(clientId).orElseThrow();
            boolean fromFiles = client.authMethod() == BrokerConfig.AuthMethod.private_key_jwt
                    || client.clientSecret().flatMap(ClientSecret::file).isPresent();
            long interval = ConfiguredUpstream.all(config).stream()
                    .filter(upstream -> upstream.id().equals(client.upstream()))
                    .findFirst()
                    .orElseThrow()
                    .settings()
                    .tlsReloadInterval()
                    .toMillis();
            if (fromFiles && interval > 0) {
                // Ordered: a slow file system cannot make two reloads of one client overlap.
                vertx.setPeriodic(interval, interval, id -> vertx.executeBlocking(() -> reload(client), true));
            }
        }
    }

    private static boolean reload(RegisteredClient client) {
        boolean changed = false;
        try {
            if (client.signingKeys().reload()) {
                changed = true;
                LOG.infof(
                        "broker.clients.%s.private-keys read again: kid %s signs, /oauth2/jwks publishes %s",
                        client.name(),
                        client.signingKeys().signing().keyId(),
                        client.signingKeys().current().stream()
                                .map(SigningKey::keyId)
                                .toList());
            }
        } catch (IllegalArgumentException e) {
            LOG.warnf(
                    "broker.clients.%s.private-keys changed but %s: the keys in use stay",
                    client.name(), e.getMessage().replace('\n', ';'));
        }
        ClientSecret secret = client.clientSecret().orElse(null);
        try {
            if (secret != null && secret.reload()) {
                changed = true;
                LOG.infof(
                        "broker.clients.%s.client-secret-file read again: the next upstream calls send the new secret",
                        client.name());
            }
        } catch (IllegalArgumentException e) {
            LOG.warnf(
                    "broker.clients.%s.client-secret-file %s %s: the secret in use stays",
                    client.name(), secret.file().orElseThrow(), e.getMessage());
        }
        return changed;
    }
}
