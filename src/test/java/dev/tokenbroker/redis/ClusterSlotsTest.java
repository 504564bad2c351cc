package dev.tokenbroker.redis;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.crypto.Handles;
import io.vertx.redis.client.impl.ZModem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Why no command of the broker can fail with {@code CROSSSLOT} on a Redis Cluster: every script touches only the keys
 * it declares, one key, or the session's record and its web-mode record, which share the session id's hash tag; and
 * every key family hashes by its id's hash tag alone (so a prefix cannot move it). The cluster runs of the flow tests
 * ({@code redis-cluster} execution in {@code pom.xml}) show the same on a real cluster, where Redis refuses a script
 * that touches a key of another slot.
 */
class ClusterSlotsTest {

    private static final Pattern KEY_REF = Pattern.compile("KEYS\\[(\\d+)]");
    /** A redis.call whose key argument is not KEYS[...]: a key the script would reach without declaring it. */
    private static final Pattern UNDECLARED_KEY = Pattern.compile("redis\\.call\\('(\\w+)',\\s*+(?!KEYS\\[)([^)]*)\\)");
    /**
     * The scripts that end a session, and so delete its web-mode record and last answer with it
     * (SessionStore.sessionKeys); and the commit, which marks itself and stores its answer in the session's slot
     * (RedisKeys.refreshCommit, RedisKeys.lastAnswer).
     */
    private static final Set<String> SESSION_SLOT_TRIPLES =
            Set.of("session-begin-refresh", "session-take", "session-commit-refresh");

    /** The script that writes a session's web-mode record only while the session exists. */
    private static final String SESSION_SLOT_PAIR = "web-session-put";

    /** Rate buckets: any number of keys, which the caller names with one hash tag (RedisKeys.rateBucket). */
    private static final String BUCKETS = "rate-gcra";

    @Test
    void everyScriptTouchesOnlyItsDeclaredKeys() throws Exception {
        Map<String, String> scripts = scripts();
        assertTrue(scripts.size() >= 13, "found the scripts: " + scripts.size());
        for (var script : scripts.entrySet()) {
            TreeSet<String> referenced = new TreeSet<>();
            Matcher m = KEY_REF.matcher(script.getValue());
            while (m.find()) {
                referenced.add(m.group(1));
            }
            List<String> expected = script.getKey().equals(BUCKETS)
                    ? List.of()
                    : SESSION_SLOT_TRIPLES.contains(script.getKey())
                            ? List.of("1", "2", "3")
                            : script.getKey().equals(SESSION_SLOT_PAIR) ? List.of("1", "2") : List.of("1");
            assertEquals(expected, List.copyOf(referenced), script.getKey() + "'s keys");
            Matcher undeclared = UNDECLARED_KEY.matcher(script.getValue());
            assertFalse(
                    undeclared.find(), () -> "a key not from KEYS: " + undeclared.group() + " in " + script.getKey());
        }
    }

    @Test
    void everyKeyFamilyHashesByItsIdAloneWhateverThePrefix() {
        for (String prefix : List.of("tb:", "prod:broker:", "")) {
            RedisKeys keys = new RedisKeys(prefix);
            Map<String, Function<String, String>> families = Map.of(
                    "session", keys::session,
                    "web-mode record", keys::webSession,
                    "commit marker", id -> keys.refreshCommit(id, Handles.randomId()),
                    "last answer", keys::lastAnswer,
                    "subject index", keys::subjectIndex,
                    "sid index", keys::upstreamSessionIndex,
                    "DPoP proof", keys::dpopProof,
                    "logout token", keys::logoutToken,
                    "active sessions", keys::activeSessions);
            for (int i = 0; i < 1000; i++) {
                String id = Handles.newHandle().sessionId();
                String digest = Handles.digest(id);
                for (var family : families.entrySet()) {
                    for (String value : List.of(id, digest)) {
                        String key = family.getValue().apply(value);
                        assertEquals(
                                ZModem.generate(value),
                                ZModem.generate(key),
                                family.getKey() + " key " + key + " is not in the slot of its id");
                    }
                }
            }
            assertEquals(ZModem.generate("revocations"), ZModem.generate(keys.revocationOutbox()));
        }
    }

    @Test
    void theSlotFunctionHonoursHashTagsAsRedisDoes() {
        // The examples of the Redis Cluster specification, section "Hash tags".
        assertEquals(ZModem.generate("user1000"), ZModem.generate("{user1000}.following"));
        assertEquals(ZModem.generate("user1000"), ZModem.generate("{user1000}.followers"));
        assertEquals(ZModem.generate("bar"), ZModem.generate("foo{bar}{zap}"));
        // The CLUSTER KEYSLOT examples of the Redis documentation.
        assertEquals(11058, ZModem.generate("somekey"));
        assertEquals(2515, ZModem.generate("foo{hash_tag}"));
    }

    /** Every script in src/main/resources/redis by name, without its comments. */
    static Map<String, String> scripts() throws IOException {
        Map<String, String> sources = new TreeMap<>();
        try (Stream<Path> files = Files.list(Path.of("src", "main", "resources", "redis"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".lua")).toList()) {
                String name = file.getFileName().toString().replaceFirst("\\.lua$", "");
                sources.put(name, LuaScript.named(name).source().replaceAll("(?s)--\\[\\[.*?]]|--[^\n]*", ""));
            }
        }
        return sources;
    }
}
