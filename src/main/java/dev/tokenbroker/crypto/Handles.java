package dev.tokenbroker.crypto;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * Broker handles: the opaque refresh tokens the front ends hold. 256 bits from a CSPRNG, base64url.
 * Redis only ever sees {@link #hash(String)} of a handle, so a dump of Redis yields no usable handle.
 */
public final class Handles {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();
    private static final Pattern FORMAT = Pattern.compile("[A-Za-z0-9_-]{43}");

    private Handles() {
    }

    public static String newHandle() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return B64URL.encodeToString(bytes);
    }

    /** Whether the value could be a handle this broker issued; anything else is rejected without a Redis lookup. */
    public static boolean wellFormed(String value) {
        return value != null && FORMAT.matcher(value).matches();
    }

    /** SHA-256, base64url. A plain hash suffices: the input already carries 256 bits of entropy. */
    public static String hash(String handle) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(handle.getBytes(StandardCharsets.US_ASCII));
            return B64URL.encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by the Java platform", e);
        }
    }

    /** A random id for lock ownership; not a secret. */
    public static String randomId() {
        byte[] bytes = new byte[12];
        RANDOM.nextBytes(bytes);
        return B64URL.encodeToString(bytes);
    }
}
