package dev.tokenbroker.crypto;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM envelopes for values stored at rest. Format: {@code v1.<kid>.<base64url(nonce ‖ ciphertext ‖ tag)>}.
 * The key id travels in the envelope so that keys can be rotated: new writes use the current key, any
 * key still in the ring decrypts. The associated data binds an envelope to its place (session and field),
 * so a value copied to another session or field does not decrypt.
 */
public final class KeyRing {

    private static final String VERSION = "v1";
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final Pattern KID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private static final ThreadLocal<Cipher> CIPHER = ThreadLocal.withInitial(() -> {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is required by the Java platform", e);
        }
    });

    private final Map<String, SecretKey> keys;
    private final Map<String, SecretKey> indexKeys;
    private final String currentKid;
    /** Per thread and key id: Mac instances are not thread-safe, and keyed per ring instance. */
    private final ThreadLocal<Map<String, Mac>> macs = ThreadLocal.withInitial(HashMap::new);

    /**
     * @param base64Keys key id → base64 of 32 bytes
     * @throws IllegalArgumentException naming the offending key id (never the key)
     */
    public KeyRing(Map<String, String> base64Keys, String currentKid) {
        if (!base64Keys.containsKey(currentKid)) {
            throw new IllegalArgumentException("broker.session.encryption-key-id '" + currentKid
                    + "' names no key in broker.session.encryption-keys: set it to one of " + base64Keys.keySet());
        }
        this.keys = Map.copyOf(base64Keys.entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> decodeKey(e.getKey(), e.getValue()))));
        this.currentKid = currentKid;
        this.indexKeys = Map.copyOf(keys.entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> deriveIndexKey(e.getValue()))));
    }

    /** A ring with one random key, for dev and test runs without configured keys. */
    public static KeyRing ephemeral() {
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        return new KeyRing(Map.of("ephemeral", Base64.getEncoder().encodeToString(key)), "ephemeral");
    }

    private static SecretKey decodeKey(String kid, String base64) {
        if (!KID.matcher(kid).matches()) {
            throw new IllegalArgumentException(
                    "broker.session.encryption-keys: key id '" + kid + "' must match " + KID.pattern());
        }
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(base64.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("broker.session.encryption-keys." + kid + " is not valid base64: "
                    + "set it to 32 random bytes in base64, made with `openssl rand -base64 32`");
        }
        if (raw.length != 32) {
            throw new IllegalArgumentException(
                    "broker.session.encryption-keys." + kid + " must decode to 32 bytes (AES-256), got " + raw.length
                            + ": make one with `openssl rand -base64 32`");
        }
        return new SecretKeySpec(raw, "AES");
    }

    public String encrypt(String plaintext, String associatedData) {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        try {
            Cipher cipher = cipher(Cipher.ENCRYPT_MODE, keys.get(currentKid), nonce, currentKid, associatedData);
            byte[] sealed = cipher.doFinal(plaintext.getBytes(StandardCharsets.UTF_8));
            byte[] out = ByteBuffer.allocate(nonce.length + sealed.length)
                    .put(nonce)
                    .put(sealed)
                    .array();
            return VERSION + "." + currentKid + "."
                    + Base64.getUrlEncoder().withoutPadding().encodeToString(out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM encryption failed", e);
        }
    }

    /**
     * An index tag for a value that must be findable but not readable in Redis (a user's {@code sub}, an upstream
     * {@code sid}): HMAC-SHA-256 under a key derived from the current encryption key, base64url.
     */
    public String indexTag(String value) {
        return tag(currentKid, value);
    }

    /** The value's tags under every key in the ring, current first: lookups still find what older keys tagged. */
    public List<String> indexTags(String value) {
        return Stream.concat(
                        Stream.of(currentKid),
                        indexKeys.keySet().stream()
                                .filter(kid -> !kid.equals(currentKid))
                                .sorted())
                .map(kid -> tag(kid, value))
                .toList();
    }

    private String tag(String kid, String value) {
        Mac mac = macs.get().computeIfAbsent(kid, k -> {
            try {
                Mac m = Mac.getInstance("HmacSHA256");
                m.init(indexKeys.get(k));
                return m;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 is required by the Java platform", e);
            }
        });
        return Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(mac.doFinal(value.getBytes(StandardCharsets.UTF_8)));
    }

    /** A separate key for index tags, so the encryption key itself is never used as a MAC key. */
    private static SecretKey deriveIndexKey(SecretKey key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return new SecretKeySpec(
                    mac.doFinal("token-broker index tags v1".getBytes(StandardCharsets.UTF_8)), "HmacSHA256");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is required by the Java platform", e);
        }
    }

    /** @throws IllegalStateException when the envelope is malformed, its key is gone, or it was tampered with or moved */
    public String decrypt(String envelope, String associatedData) {
        String[] parts = envelope.split("\\.", 3);
        if (parts.length != 3 || !VERSION.equals(parts[0])) {
            throw new IllegalStateException("not a v1 envelope");
        }
        SecretKey key = keys.get(parts[1]);
        if (key == null) {
            throw new IllegalStateException("envelope key id '" + parts[1] + "' is not in the key ring");
        }
        try {
            byte[] in = Base64.getUrlDecoder().decode(parts[2]);
            byte[] nonce = Arrays.copyOfRange(in, 0, NONCE_BYTES);
            Cipher cipher = cipher(Cipher.DECRYPT_MODE, key, nonce, parts[1], associatedData);
            return new String(cipher.doFinal(in, NONCE_BYTES, in.length - NONCE_BYTES), StandardCharsets.UTF_8);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalStateException("envelope does not decrypt under key id '" + parts[1] + "'");
        }
    }

    private static Cipher cipher(int mode, SecretKey key, byte[] nonce, String kid, String associatedData)
            throws GeneralSecurityException {
        // Cipher instances are costly to obtain and not thread-safe: one per thread, re-initialised per use.
        Cipher cipher = CIPHER.get();
        cipher.init(mode, key, new GCMParameterSpec(TAG_BITS, nonce));
        // The key id is authenticated too, so an envelope cannot be relabelled to another key.
        cipher.updateAAD((VERSION + "." + kid + "|" + associatedData).getBytes(StandardCharsets.UTF_8));
        return cipher;
    }

    @Override
    public String toString() {
        return "KeyRing[current=" + currentKid + ", kids=" + keys.keySet() + "]";
    }
}
