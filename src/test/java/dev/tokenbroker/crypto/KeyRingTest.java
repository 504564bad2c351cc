package dev.tokenbroker.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

class KeyRingTest {

    static String key() {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        return Base64.getEncoder().encodeToString(k);
    }

    @Test
    void encryptsWithRandomNonceAndKeyIdAndDecrypts() {
        KeyRing ring = new KeyRing(Map.of("k1", key()), "k1");
        String a = ring.encrypt("RT-secret", "session:h:rt");
        String b = ring.encrypt("RT-secret", "session:h:rt");
        assertNotEquals(a, b, "a fresh nonce per write");
        assertTrue(a.startsWith("v1.k1."));
        assertFalse(a.contains("RT-secret"));
        assertEquals("RT-secret", ring.decrypt(a, "session:h:rt"));
    }

    @Test
    void oldKeysStillDecryptAfterRotation() {
        String k1 = key();
        String written = new KeyRing(Map.of("k1", k1), "k1").encrypt("RT-old", "ad");
        KeyRing rotated = new KeyRing(Map.of("k1", k1, "k2", key()), "k2");
        assertEquals("RT-old", rotated.decrypt(written, "ad"));
        assertTrue(rotated.encrypt("RT-new", "ad").startsWith("v1.k2."));
        IllegalStateException gone = assertThrows(IllegalStateException.class,
                () -> new KeyRing(Map.of("k2", key()), "k2").decrypt(written, "ad"));
        assertTrue(gone.getMessage().contains("k1"));
    }

    @Test
    void associatedDataBindsCiphertextToItsSessionAndField() {
        KeyRing ring = new KeyRing(Map.of("k1", key()), "k1");
        String sealed = ring.encrypt("RT", "session:A:rt");
        assertThrows(IllegalStateException.class, () -> ring.decrypt(sealed, "session:B:rt"));
        assertThrows(IllegalStateException.class, () -> ring.decrypt(sealed, "session:A:issued"));
        char[] chars = sealed.toCharArray();
        chars[chars.length - 2] = chars[chars.length - 2] == 'A' ? 'B' : 'A';
        assertThrows(IllegalStateException.class, () -> ring.decrypt(new String(chars), "session:A:rt"));
    }

    @Test
    void badKeyConfigurationNamesThePropertyButNeverTheKey() {
        String shortKey = Base64.getEncoder().encodeToString(new byte[16]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new KeyRing(Map.of("k1", shortKey), "k1"));
        assertTrue(e.getMessage().contains("broker.session.encryption-keys.k1"));
        assertFalse(e.getMessage().contains(shortKey));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new KeyRing(Map.of("k1", key()), "k9"))
                .getMessage().contains("broker.session.encryption-key-id"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new KeyRing(Map.of("k1", "%%%"), "k1"))
                .getMessage().contains("not valid base64"));
    }

    @Test
    void handlesAreUniqueUrlSafe256BitValuesStoredOnlyAsHashes() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            String handle = Handles.newHandle();
            assertTrue(Handles.wellFormed(handle), handle);
            assertEquals(32, Base64.getUrlDecoder().decode(handle).length);
            assertTrue(seen.add(handle));
        }
        String handle = Handles.newHandle();
        assertEquals(Handles.hash(handle), Handles.hash(handle));
        assertNotEquals(handle, Handles.hash(handle));
        assertFalse(Handles.wellFormed(handle + "x"));
        assertFalse(Handles.wellFormed(handle.substring(1) + "+"));
        assertFalse(Handles.wellFormed(null));
    }
}
