package dev.tokenbroker.redis;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.RedisNode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each script of {@code src/main/resources/redis} on its own, against a real Redis (no Quarkus): on a standalone
 * server and on a one-node Cluster, where Redis refuses a script whose keys are not in one slot. What a script returns
 * is what its header says.
 */
class RedisScriptsTest {

    private static final RedisKeys KEYS = new RedisKeys("tb:");
    private static final String HOUR = "3600000";

    private static RedisNode standalone;
    private static RedisNode cluster;

    @BeforeAll
    static void start() throws Exception {
        Path dir = Files.createTempDirectory("redis-scripts");
        standalone = RedisNode.server(dir);
        cluster = RedisNode.server(dir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes-scripts.conf");
        List<String> addSlots = new ArrayList<>(List.of("CLUSTER", "ADDSLOTS"));
        for (int slot = 0; slot < 16384; slot++) {
            addSlots.add(Integer.toString(slot));
        }
        cluster.call(addSlots.toArray(String[]::new));
        Await.until("the one-node cluster is up", Duration.ofSeconds(10), () -> {
            try {
                return cluster.call("CLUSTER", "INFO").toString().contains("cluster_state:ok");
            } catch (IOException e) {
                return false;
            }
        });
    }

    @AfterAll
    static void stop() {
        standalone.close();
        cluster.close();
    }

    private static RedisNode redis(String topology) {
        return topology.equals("cluster") ? cluster : standalone;
    }

    /** EVAL of the named script, as LuaScript sends it after NOSCRIPT. */
    private static Object eval(String topology, String script, List<String> keys, String... args) throws IOException {
        List<String> command =
                new ArrayList<>(List.of("EVAL", LuaScript.named(script).source(), Integer.toString(keys.size())));
        command.addAll(keys);
        command.addAll(List.of(args));
        return redis(topology).call(command.toArray(String[]::new));
    }

    /** The keys of the scripts that may end a session (SessionStore.sessionKeys). */
    private static List<String> sessionKeys(String id) {
        return List.of(KEYS.session(id), KEYS.webSession(id), KEYS.lastAnswer(id));
    }

    /** A session of client {@code c} whose current handle's secret hash is {@code h1}, holding {@code RT-1}. */
    private static String newSession(String topology) throws IOException {
        String id = Handles.newHandle().sessionId();
        assertEquals(
                1L,
                eval(
                        topology,
                        "session-create",
                        List.of(KEYS.session(id)),
                        HOUR,
                        HOUR,
                        "",
                        HOUR,
                        "client",
                        "c",
                        "cur",
                        "h1",
                        "rt",
                        "RT-1",
                        "scope",
                        "openid offline_access"));
        return id;
    }

    private static List<?> begin(String topology, String id, String secretHash, String scope, String owner)
            throws IOException {
        return (List<?>) eval(
                topology,
                "session-begin-refresh",
                sessionKeys(id),
                secretHash,
                "c",
                scope,
                "",
                owner,
                "30000",
                "5000",
                "");
    }

    private static Map<String, String> hash(String topology, String key) throws IOException {
        List<?> flat = (List<?>) redis(topology).call("HGETALL", key);
        Map<String, String> fields = new java.util.HashMap<>();
        for (int i = 0; i < flat.size(); i += 2) {
            fields.put(flat.get(i).toString(), flat.get(i + 1).toString());
        }
        return fields;
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void createWritesTheDeadlinesByRedisClockAndAnExpiry(String topology) throws IOException {
        String id = newSession(topology);
        Map<String, String> session = hash(topology, KEYS.session(id));
        assertEquals("0", session.get("version"));
        assertEquals("0", session.get("rt_until"), "no upstream lifetime given");
        long created = Long.parseLong(session.get("created"));
        assertEquals(created + 3_600_000, Long.parseLong(session.get("expires")));
        assertTrue((Long) redis(topology).call("PTTL", KEYS.session(id)) > 3_600_000, "lives past its deadline");
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void beginRefreshDecidesEveryCaseItsHeaderNames(String topology) throws IOException {
        String id = newSession(topology);
        assertEquals(
                List.of("gone"),
                eval(
                        topology,
                        "session-begin-refresh",
                        sessionKeys(id),
                        "h1",
                        "other",
                        "",
                        "",
                        "o",
                        "30000",
                        "5000",
                        ""));
        assertEquals(List.of("scope"), begin(topology, id, "h1", "admin", "o"));
        List<?> locked = begin(topology, id, "h1", "", "owner-a");
        assertEquals("locked", locked.get(0));
        assertEquals("RT-1", locked.get(3), "the refresh token to present");
        assertEquals(List.of("busy", "0", ""), begin(topology, id, "h1", "", "owner-b"));

        redis(topology).call("HSET", KEYS.session(id), "lock_until", "0");
        redis(topology).call("SET", KEYS.lastAnswer(id), "answer");
        List<?> inDoubt = begin(topology, id, "h1", "", "owner-b");
        assertEquals(List.of("ended", "refresh_interrupted", "RT-1", "", ""), inDoubt);
        assertEquals(0L, redis(topology).call("EXISTS", KEYS.session(id)));
        assertEquals(0L, redis(topology).call("EXISTS", KEYS.lastAnswer(id)), "the answer ends with the session");

        String stolen = newSession(topology);
        redis(topology).call("SET", KEYS.lastAnswer(stolen), "answer");
        assertEquals(List.of("ended", "reuse", "RT-1", "", ""), begin(topology, stolen, "not-the-secret", "", "o"));
        assertEquals(0L, redis(topology).call("EXISTS", KEYS.lastAnswer(stolen)));

        String bound = newSession(topology);
        redis(topology).call("HSET", KEYS.session(bound), "jkt", "key-1");
        assertEquals(List.of("dpop"), begin(topology, bound, "h1", "", "o"));

        String idle = newSession(topology);
        redis(topology).call("HSET", KEYS.session(idle), "expires", "1");
        redis(topology).call("SET", KEYS.lastAnswer(idle), "answer");
        assertEquals(List.of("ended", "idle", "RT-1", "", ""), begin(topology, idle, "h1", "", "o"));
        assertEquals(0L, redis(topology).call("EXISTS", KEYS.lastAnswer(idle)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void commitIsACompareAndSetIdempotentForItsOwnerAndNotesAReusedToken(String topology) throws IOException {
        String id = newSession(topology);
        begin(topology, id, "h1", "", "owner");
        List<String> keys = List.of(KEYS.session(id), KEYS.refreshCommit(id, "owner"), KEYS.lastAnswer(id));
        String[] commit = {"owner", "0", "ISSUED", "", "", "h2", "30000", HOUR, "", HOUR, "60000", "40000", ""};
        assertEquals(1L, eval(topology, "session-commit-refresh", keys, commit));
        Map<String, String> session = hash(topology, KEYS.session(id));
        assertFalse(session.containsKey("issued"), "the answer is not in the session's record");
        assertEquals("ISSUED", redis(topology).call("GET", KEYS.lastAnswer(id)));
        long answerTtl = (Long) redis(topology).call("PTTL", KEYS.lastAnswer(id));
        assertTrue(answerTtl > 30_000 && answerTtl <= 40_000, "lives as long as it may answer: " + answerTtl);
        assertEquals("1", session.get("version"));
        assertEquals("h2", session.get("cur"));
        assertEquals("h1", session.get("prev"), "retired within its grace");
        assertEquals("1", session.get("rtreuse"), "no new refresh token: the upstream reuses them");
        assertFalse(session.containsKey("lock"), "released");
        assertEquals(1L, eval(topology, "session-commit-refresh", keys, commit), "a retry finds its own marker");
        assertEquals(
                0L,
                eval(
                        topology,
                        "session-commit-refresh",
                        List.of(KEYS.session(id), KEYS.refreshCommit(id, "late"), KEYS.lastAnswer(id)),
                        "late",
                        "0",
                        "X",
                        "",
                        "",
                        "",
                        "30000",
                        HOUR,
                        "",
                        HOUR,
                        "60000",
                        "40000",
                        ""),
                "the version moved on");
        String gone = Handles.newHandle().sessionId();
        assertEquals(
                -1L,
                eval(
                        topology,
                        "session-commit-refresh",
                        List.of(KEYS.session(gone), KEYS.refreshCommit(gone, "o"), KEYS.lastAnswer(gone)),
                        commit));
    }

    /**
     * A new session refreshed once: handle h1 retired for h2 within a 30 s grace, refresh token RT-2, answer
     * {@code ISSUED}.
     *
     * @param keepInRecord ARGV[13]: '1' keeps the answer in the record too
     */
    private static String refreshedOnce(String topology, String keepInRecord) throws IOException {
        String id = newSession(topology);
        begin(topology, id, "h1", "", "owner");
        eval(
                topology,
                "session-commit-refresh",
                List.of(KEYS.session(id), KEYS.refreshCommit(id, "owner"), KEYS.lastAnswer(id)),
                "owner",
                "0",
                "ISSUED",
                "",
                "RT-2",
                "h2",
                "30000",
                HOUR,
                "",
                HOUR,
                "60000",
                "40000",
                keepInRecord);
        return id;
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void theLastAnswerAnswersAgainOnlyWhileItsKeyLivesAndAnOlderBrokersFieldComesFirst(String topology)
            throws IOException {
        String id = refreshedOnce(topology, "");
        List<?> retry = begin(topology, id, "h1", "", "o");
        assertEquals(List.of("cached", "ISSUED"), List.of(retry.get(0), retry.get(3)), "the retired handle's retry");

        redis(topology).call("HSET", KEYS.session(id), "issued", "OLDER-BROKER");
        retry = begin(topology, id, "h1", "", "o");
        assertEquals("OLDER-BROKER", retry.get(3), "a later commit by a broker that kept the answer in the record");

        redis(topology).call("HDEL", KEYS.session(id), "issued");
        redis(topology).call("DEL", KEYS.lastAnswer(id));
        List<?> locked = begin(topology, id, "h1", "", "o");
        assertEquals(
                List.of("locked", "RT-2", ""),
                List.of(locked.get(0), locked.get(3), locked.get(5)),
                "no answer left: a refresh, as from the current handle");
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void forARollingUpdateACommitAlsoKeepsTheAnswerWhereOlderBrokersReadIt(String topology) throws IOException {
        String id = refreshedOnce(topology, "1");
        assertEquals("ISSUED", hash(topology, KEYS.session(id)).get("issued"));
        assertEquals("ISSUED", redis(topology).call("GET", KEYS.lastAnswer(id)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void onlyTheLocksOwnerReleasesOrInterruptsIt(String topology) throws IOException {
        String id = newSession(topology);
        begin(topology, id, "h1", "", "owner");
        List<String> session = List.of(KEYS.session(id));
        assertEquals(0L, eval(topology, "session-interrupt-refresh", session, "stranger"));
        assertEquals(0L, eval(topology, "session-release-lock", session, "stranger"));
        eval(topology, "session-interrupt-refresh", session, "owner");
        assertEquals("0", hash(topology, KEYS.session(id)).get("lock_until"), "expired, and kept as a mark");
        assertEquals(2L, eval(topology, "session-release-lock", session, "owner"));
        assertFalse(hash(topology, KEYS.session(id)).containsKey("lock"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void takeDeletesTheSessionWithItsWebRecordAndAnswerAndReturnsWhatEndingItNeeds(String topology) throws IOException {
        String id = newSession(topology);
        redis(topology).call("SET", KEYS.webSession(id), "record");
        redis(topology).call("SET", KEYS.lastAnswer(id), "answer");
        assertNull(eval(topology, "session-take", sessionKeys(id), "other-client", "", "any", ""));
        assertNull(eval(topology, "session-take", sessionKeys(id), "c", "", "any", "not-a-handle"));
        assertEquals(
                List.of("RT-1", "", "", "c"), eval(topology, "session-take", sessionKeys(id), "c", "", "any", "h1"));
        assertEquals(0L, redis(topology).call("EXISTS", KEYS.session(id)));
        assertEquals(0L, redis(topology).call("EXISTS", KEYS.webSession(id)));
        assertEquals(0L, redis(topology).call("EXISTS", KEYS.lastAnswer(id)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void aWebRecordIsWrittenOnlyWhileItsSessionLives(String topology) throws IOException {
        String id = newSession(topology);
        assertEquals(1L, eval(topology, "web-session-put", sessionKeys(id), "envelope", HOUR));
        assertEquals("envelope", redis(topology).call("GET", KEYS.webSession(id)));
        String ended = Handles.newHandle().sessionId();
        assertEquals(0L, eval(topology, "web-session-put", sessionKeys(ended), "envelope", HOUR));
        assertEquals(0L, redis(topology).call("EXISTS", KEYS.webSession(ended)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void anIndexLivesAsLongAsItsNewestSession(String topology) throws IOException {
        String index = KEYS.subjectIndex(Handles.digest("alice"));
        assertEquals(1L, eval(topology, "index-add", List.of(index), "s1", "60000"));
        eval(topology, "index-add", List.of(index), "s2", "1000");
        assertEquals(2L, redis(topology).call("SCARD", index));
        assertTrue((Long) redis(topology).call("PTTL", index) > 1000, "a shorter-lived session shortens nothing");
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void aTransactionIsReadOnce(String topology) throws IOException {
        String key = KEYS.authorizationTransaction(Handles.digest("state-" + topology));
        redis(topology).call("SET", key, "transaction");
        assertEquals("transaction", eval(topology, "transaction-take", List.of(key)));
        assertNull(eval(topology, "transaction-take", List.of(key)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void rateBucketsAdmitTheirBurstThenSayWhenToComeBack(String topology) throws IOException {
        String app = "app-" + Handles.randomId();
        List<String> buckets = List.of(KEYS.rateBucket(app, "client", "all"), KEYS.rateBucket(app, "address", "a"));
        // Client: 2 per minute; address: 10 per minute.
        for (int i = 0; i < 2; i++) {
            assertEquals(
                    List.of(0L, 0L),
                    eval(topology, "rate-gcra", buckets, "1", "take", "30000", "60000", "6000", "60000"));
        }
        List<?> refused =
                (List<?>) eval(topology, "rate-gcra", buckets, "1", "take", "30000", "60000", "6000", "60000");
        assertEquals(1L, refused.get(0), "refused by the client's bucket");
        assertTrue((Long) refused.get(1) > 0 && (Long) refused.get(1) <= 30000, "back within one interval");
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void outboxEntriesAreClaimedRescheduledAndFinishedOnlyByTheirConsumer(String topology) throws IOException {
        String stream = KEYS.revocationOutbox() + ":" + topology + Handles.randomId();
        RedisNode r = redis(topology);
        r.call("XGROUP", "CREATE", stream, "g", "$", "MKSTREAM");
        r.call("XADD", stream, "*", "token", "enc");
        List<?> read = (List<?>) r.call("XREADGROUP", "GROUP", "g", "mine", "COUNT", "1", "STREAMS", stream, ">");
        String id = ((List<?>) ((List<?>) ((List<?>) ((List<?>) read.get(0)).get(1)).get(0)))
                .get(0)
                .toString();
        List<String> keys = List.of(stream);

        assertEquals(0L, eval(topology, "outbox-claim-if-mine", keys, "g", "theirs", id, "1000"));
        assertEquals(1L, eval(topology, "outbox-claim-if-mine", keys, "g", "mine", id, "1000"));
        assertNull(eval(topology, "outbox-reschedule", keys, "g", "theirs", id, "token", "enc", "attempts", "1"));
        Object next = eval(topology, "outbox-reschedule", keys, "g", "mine", id, "token", "enc", "attempts", "1");
        assertNotNull(next);
        assertEquals(1L, r.call("XLEN", stream), "the old entry is gone, the new one waits");
        assertEquals(0L, eval(topology, "outbox-finish", keys, "g", id), "already deleted");
        assertEquals(1L, eval(topology, "outbox-finish", keys, "g", next.toString()));
        assertEquals(0L, r.call("XLEN", stream));
    }
}
