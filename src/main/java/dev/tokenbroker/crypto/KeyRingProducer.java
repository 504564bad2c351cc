package dev.tokenbroker.crypto;

import jakarta.enterprise.inject.Default;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.config.CheckedAtStartup;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.Startup;

/** Builds the key ring from {@code broker.session.encryption-keys}; refuses to run prod without keys. */
public class KeyRingProducer {

    private static final Logger LOG = Logger.getLogger(KeyRingProducer.class);

    /** Built at startup, so a missing or bad key stops the broker before it serves anything. */
    @Produces
    @Singleton
    @Startup
    @Default
    @CheckedAtStartup
    KeyRing keyRing(BrokerConfig config) {
        BrokerConfig.Session session = config.session();
        if (session.encryptionKeys().isEmpty()) {
            if (LaunchMode.current() == LaunchMode.NORMAL) {
                throw new IllegalArgumentException("broker.session.encryption-keys is required in production: set "
                        + "broker.session.encryption-keys.<kid> (base64 of 32 random bytes, e.g. `openssl rand -base64 32`) "
                        + "and broker.session.encryption-key-id=<kid>");
            }
            LOG.warn("No broker.session.encryption-keys configured: using an ephemeral key. "
                    + "Stored sessions will not survive a restart. Never run production like this.");
            return KeyRing.ephemeral();
        }
        String kid = session.encryptionKeyId().orElseGet(() -> {
            if (session.encryptionKeys().size() == 1) {
                return session.encryptionKeys().keySet().iterator().next();
            }
            throw new IllegalArgumentException(
                    "broker.session.encryption-key-id is required when several encryption keys are configured");
        });
        return new KeyRing(session.encryptionKeys(), kid);
    }
}
