package dev.tokenbroker.crypto;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;

/**
 * Broker handles: the opaque refresh tokens the front ends hold. A handle is {@code <key>.<secret>}: a 128-bit
 * session key that stays the same for the session's whole life and a 256-bit secret that changes with every
 * rotation, both from a CSPRNG, base64url. Redis only ever sees hashes of both ({@link Handle#sessionId()},
 * {@link Handle#secretHash()}), so a dump of Redis yields no usable handle, and log lines name sessions by an id
 * that cannot be turned back into a handle.
 */
public final class Handles {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();
    private static final int KEY_LENGTH = 22;
    private static final int LENGTH = KEY_LENGTH + 1 + 43;
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by the Java platform", e);
        }
    });

    private Handles() {}

    /**
     * One handle of a session. {@link #toString()} is redacted; {@link #value()} is what the front end gets. Its two
     * hashes are computed once, when it is made: a request asks for them several times (keys, scripts, log lines).
     */
    public static final class Handle {
        private final String key;
        private final String secret;
        private final String sessionId;
        private final String secretHash;

        /**
         * @param key    names the session; secret, since whoever knows it holds (or held) a handle of the session
         * @param secret proves the holder has the session's current (or just retired) handle
         */
        public Handle(String key, String secret) {
            this(key, secret, hash(key).substring(0, 22));
        }

        private Handle(String key, String secret, String sessionId) {
            this.key = key;
            this.secret = secret;
            this.sessionId = sessionId;
            this.secretHash = hash(secret);
        }

        public String key() {
            return key;
        }

        public String secret() {
            return secret;
        }

        public String value() {
            return key + "." + secret;
        }

        /** The session's Redis identity and log id: a hash of {@link #key}, so neither reveals a handle. */
        public String sessionId() {
            return sessionId;
        }

        public String secretHash() {
            return secretHash;
        }

        /** The same session's next handle: same key, new secret. */
        public Handle rotated() {
            return new Handle(key, random(32), sessionId);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Handle h && key.equals(h.key) && secret.equals(h.secret);
        }

        @Override
        public int hashCode() {
            return Objects.hash(key, secret);
        }

        @Override
        public String toString() {
            return "Handle[session=" + sessionId + "]";
        }
    }

    public static Handle newHandle() {
        return new Handle(random(16), random(32));
    }

    /** The handle, if the value could be one this broker issued; anything else is rejected without a Redis lookup. */
    public static Optional<Handle> parse(String value) {
        if (value == null || value.length() != LENGTH || value.charAt(KEY_LENGTH) != '.') {
            return Optional.empty();
        }
        for (int i = 0; i < LENGTH; i++) {
            if (i != KEY_LENGTH && !isBase64Url(value.charAt(i))) {
                return Optional.empty();
            }
        }
        return Optional.of(new Handle(value.substring(0, KEY_LENGTH), value.substring(KEY_LENGTH + 1)));
    }

    /** A loop, not a regular expression: every request with a handle passes here. */
    private static boolean isBase64Url(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    }

    /** SHA-256, base64url. A plain hash suffices: every input carries at least 128 bits of entropy. */
    static String hash(String value) {
        return B64URL.encodeToString(SHA256.get().digest(value.getBytes(StandardCharsets.US_ASCII)));
    }

    /** SHA-256, base64url, of any text: a fixed-length Redis key part for values of any length or alphabet. */
    public static String digest(String value) {
        return B64URL.encodeToString(SHA256.get().digest(value.getBytes(StandardCharsets.UTF_8)));
    }

    /** 256 random bits, base64url (43 characters): a {@code state}, {@code nonce} or RFC 7636 code verifier. */
    public static String randomSecret() {
        return random(32);
    }

    /** RFC 7636 §4.2 S256 code challenge of a verifier. */
    public static String s256(String verifier) {
        return hash(verifier);
    }

    /** A random id for lock ownership; not a secret. */
    public static String randomId() {
        return random(12);
    }

    private static String random(int bytes) {
        byte[] out = new byte[bytes];
        RANDOM.nextBytes(out);
        return B64URL.encodeToString(out);
    }
}
