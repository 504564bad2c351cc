package dev.tokenbroker.config;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.quarkus.runtime.Startup;
import io.vertx.core.Vertx;

/**
 * Reads each {@code private_key_jwt} client's key files again every {@code tls-reload-interval} of its upstream
 * ({@link SigningKeys#reload}), on a worker thread: keys that check out sign the next assertion and are published at
 * {@code /oauth2/jwks}, files that do not are refused with a WARN that shows no key material.
 */
@Startup
@Singleton
class SigningKeyReload {

    private static final Logger LOG = Logger.getLogger(SigningKeyReload.class);

    SigningKeyReload(Vertx vertx, Clients clients, BrokerConfig config) {
        for (String clientId : clients.clientIds()) {
            RegisteredClient client = clients.byClientId(clientId).orElseThrow();
            if (client.authMethod() != BrokerConfig.AuthMethod.private_key_jwt) {
                continue;
            }
            long interval = ConfiguredUpstream.all(config).stream()
                    .filter(upstream -> upstream.id().equals(client.upstream()))
                    .findFirst()
                    .orElseThrow()
                    .settings()
                    .tlsReloadInterval()
                    .toMillis();
            if (interval > 0) {
                // Ordered: a slow file system cannot make two reloads of one client overlap.
                vertx.setPeriodic(interval, interval, id -> vertx.executeBlocking(() -> reload(client), true));
            }
        }
    }

    private static boolean reload(RegisteredClient client) {
        SigningKeys keys = client.signingKeys();
        try {
            if (!keys.reload()) {
                return false;
            }
            LOG.infof(
                    "broker.clients.%s.private-keys read again: kid %s signs, /oauth2/jwks publishes %s",
                    client.name(),
                    keys.signing().keyId(),
                    keys.current().stream().map(SigningKey::keyId).toList());
            return true;
        } catch (IllegalArgumentException e) {
            LOG.warnf(
                    "broker.clients.%s.private-keys changed but %s: the keys in use stay",
                    client.name(), e.getMessage().replace('\n', ';'));
            return false;
        }
    }
}
