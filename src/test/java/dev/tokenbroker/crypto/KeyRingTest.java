package dev.tokenbroker.crypto;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        IllegalStateException gone = assertThrows(
                IllegalStateException.class, () -> new KeyRing(Map.of("k2", key()), "k2").decrypt(written, "ad"));
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
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> new KeyRing(Map.of("k1", shortKey), "k1"));
        assertTrue(e.getMessage().contains("broker.session.encryption-keys.k1"));
        assertFalse(e.getMessage().contains(shortKey));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new KeyRing(Map.of("k1", key()), "k9"))
                .getMessage()
                .contains("broker.session.encryption-key-id"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new KeyRing(Map.of("k1", "%%%"), "k1"))
                .getMessage()
                .contains("not valid base64"));
    }

    @Test
    void handlesAreUniqueUrlSafeRandomValuesStoredOnlyAsHashes() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            Handles.Handle handle = Handles.newHandle();
            assertEquals(handle, Handles.parse(handle.value()).orElseThrow());
            assertEquals(16, Base64.getUrlDecoder().decode(handle.key()).length);
            assertEquals(32, Base64.getUrlDecoder().decode(handle.secret()).length);
            assertTrue(seen.add(handle.value()));
        }
        Handles.Handle handle = Handles.newHandle();
        assertEquals(
                handle.sessionId(), Handles.parse(handle.value()).orElseThrow().sessionId());
        assertFalse(handle.value().contains(handle.sessionId()));
        assertNotEquals(handle.secret(), handle.secretHash());
        assertFalse(
                handle.toString().contains(handle.secret()) || handle.toString().contains(handle.key()));
        assertFalse(Handles.parse(handle.value() + "x").isPresent());
        assertFalse(Handles.parse(handle.value().substring(1) + "+").isPresent());
        assertFalse(Handles.parse(handle.secret()).isPresent());
        assertFalse(Handles.parse(null).isPresent());
        String value = handle.value();
        assertFalse(
                Handles.parse(value.substring(0, 22) + "_" + value.substring(23))
                        .isPresent(),
                "no dot");
        for (char bad : new char[] {'+', '/', '=', '.', ' ', '@', '[', '`', '{', ':', '\u00e9'}) {
            for (int at : new int[] {0, 21, 23, 65}) {
                String tampered = value.substring(0, at) + bad + value.substring(at + 1);
                assertFalse(Handles.parse(tampered).isPresent(), tampered);
            }
        }
        for (char good : new char[] {'A', 'Z', 'a', 'z', '0', '9', '-', '_'}) {
            assertTrue(Handles.parse(good + value.substring(1, 65) + good).isPresent());
        }
    }

    @Test
    void aRotatedHandleKeepsItsSessionAndChangesItsSecret() {
        Handles.Handle handle = Handles.newHandle();
        Handles.Handle next = handle.rotated();
        assertEquals(handle.sessionId(), next.sessionId());
        assertNotEquals(handle.secretHash(), next.secretHash());
    }

    @Test
    void indexTagsHideTheValueAndSurviveKeyRotation() {
        String k1 = key();
        KeyRing old = new KeyRing(Map.of("k1", k1), "k1");
        String tag = old.indexTag("user-4711");
        assertEquals(tag, old.indexTag("user-4711"));
        assertNotEquals(tag, old.indexTag("user-4712"));
        assertFalse(tag.contains("4711"));
        assertNotEquals(tag, new KeyRing(Map.of("k1", key()), "k1").indexTag("user-4711"), "keyed, not a plain hash");
        KeyRing rotated = new KeyRing(Map.of("k1", k1, "k2", key()), "k2");
        assertNotEquals(tag, rotated.indexTag("user-4711"), "new sessions are tagged under the new key");
        assertEquals(2, rotated.indexTags("user-4711").size());
        assertTrue(rotated.indexTags("user-4711").contains(tag), "lookups still find what the old key tagged");
    }
}
