package dev.tokenbroker.session;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.tokenbroker.config.BrokerConfig;
import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.crypto.Handles.Handle;
import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.redis.RedisKeys;
import dev.tokenbroker.session.SessionStore.Begin;
import dev.tokenbroker.session.SessionStore.CommitOutcome;
import dev.tokenbroker.session.SessionStore.EndReason;
import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Lua scripts behind rotation, single-flight refresh and session ends, against a real Redis. */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class SessionStoreTest {

    private static final Duration LOCK = Duration.ofSeconds(30);

    @Inject
    SessionStore store;

    @Inject
    RedisKeys keys;

    @Inject
    RedisDataSource redis;

    @Inject
    WebSessionStore webSessions;

    @Inject
    KeyRing keyRing;

    @Inject
    BrokerConfig config;

    private static IssuedTokens issued(String accessToken, Handle handle) {
        return new IssuedTokens(accessToken, "Bearer", 3600L, "openid", null, handle.value());
    }

    private Handle newSession() {
        Handle handle = Handles.newHandle();
        store.create(new SessionStore.NewSession(
                        handle.sessionId(), handle.secretHash(), "clover", "openid", "user", null, "RT-0", null, null))
                .await()
                .indefinitely();
        return handle;
    }

    private Begin begin(Handle handle, String owner) {
        return store.beginRefresh(handle.sessionId(), handle.secretHash(), "clover", "", null, owner, LOCK, null)
                .await()
                .indefinitely();
    }

    /** Two committed refreshes with rotation: {@code first} is then older than the handle retired within its grace. */
    private void refreshTwice(Handle first) {
        Handle current = first;
        for (int version = 0; version < 2; version++) {
            begin(current, "owner");
            Handle next = current.rotated();
            store.commitRefresh(
                            first.sessionId(),
                            "clover",
                            "owner",
                            version,
                            "",
                            issued("AT", next),
                            null,
                            next.secretHash(),
                            null)
                    .await()
                    .indefinitely();
            current = next;
        }
    }

    /** Moves one of the session's Redis-clock deadlines into the past. */
    private void expire(Handle handle, String field) {
        redis.hash(String.class).hset(keys.session(handle.sessionId()), field, "1");
    }

    /**
     * A commit whose reply was lost, retried after later refreshes moved the session on: still its own commit, so the
     * refresh token it stored (spent by those refreshes since) is not taken for an orphan and revoked.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void commitRetryAfterLaterRefreshesIsStillItsOwnCommit(boolean rotateHandles) {
        Handle handle = newSession();
        begin(handle, "owner-a");
        Handle next = rotateHandles ? handle.rotated() : handle;
        String nextSecret = rotateHandles ? next.secretHash() : null;
        assertEquals(
                CommitOutcome.COMMITTED,
                store.commitRefresh(
                                handle.sessionId(),
                                "clover",
                                "owner-a",
                                0,
                                "",
                                issued("AT-1", next),
                                "RT-1",
                                nextSecret,
                                null)
                        .await()
                        .indefinitely());
        // Another scope key, so that the reuse window does not answer it: a later refresh that spends RT-1.
        assertInstanceOf(
                Begin.Locked.class,
                store.beginRefresh(
                                handle.sessionId(), next.secretHash(), "clover", "openid", null, "owner-b", LOCK, null)
                        .await()
                        .indefinitely());
        assertEquals(
                CommitOutcome.COMMITTED,
                store.commitRefresh(
                                handle.sessionId(),
                                "clover",
                                "owner-b",
                                1,
                                "openid",
                                issued("AT-2", next),
                                "RT-2",
                                null,
                                null)
                        .await()
                        .indefinitely());

        assertEquals(
                CommitOutcome.COMMITTED,
                store.commitRefresh(
                                handle.sessionId(),
                                "clover",
                                "owner-a",
                                0,
                                "",
                                issued("AT-1", next),
                                "RT-1",
                                nextSecret,
                                null)
                        .await()
                        .indefinitely(),
                "the retry finds its own commit");
        assertEquals(
                Optional.of("RT-2"),
                store.take(handle.sessionId(), "clover", null, SessionStore.ANY_KEY, null)
                        .await()
                        .indefinitely()
                        .orElseThrow()
                        .refreshToken());
    }

    /**
     * A retired handle within its grace asks for another scope while a third refresh holds the lock and then rotates
     * again: it asks again with the current handle it was given, so that rotation does not turn it into a thief.
     */
    @Test
    void aGracedHandleThatMustWaitAsksAgainWithTheCurrentHandle() {
        Handle h0 = newSession();
        begin(h0, "a");
        Handle h1 = h0.rotated();
        store.commitRefresh(h0.sessionId(), "clover", "a", 0, "", issued("AT-1", h1), null, h1.secretHash(), null)
                .await()
                .indefinitely();
        assertInstanceOf(Begin.Locked.class, beginWithScope(h1, "openid", null, "c"));

        Begin.Busy busy = assertInstanceOf(Begin.Busy.class, beginWithScope(h0, "openid", null, "b"));
        assertEquals(h1, busy.currentHandle());
        Handle h2 = h1.rotated();
        store.commitRefresh(h0.sessionId(), "clover", "c", 1, "openid", issued("AT-2", h2), null, h2.secretHash(), null)
                .await()
                .indefinitely();
        Begin.Cached answer = assertInstanceOf(
                Begin.Cached.class, beginWithScope(busy.currentHandle(), "openid", busy.version(), "b"));
        assertEquals("AT-2", answer.issued().accessToken());
    }

    private Begin beginWithScope(Handle handle, String scope, Long seenVersion, String owner) {
        return store.beginRefresh(
                        handle.sessionId(), handle.secretHash(), "clover", scope, seenVersion, owner, LOCK, null)
                .await()
                .indefinitely();
    }

    @Test
    void anIndexLookupDropsTheIdsOfSessionsWhoseRecordIsGone() {
        Handle live = newSession();
        Handle gone = newSession();
        // A session that idled out unseen: Redis expired its record an hour past its deadline.
        redis.key().del(keys.session(gone.sessionId()));
        String index = keys.subjectIndex(keyRing.indexTag("user"));
        assertTrue(redis.set(String.class).smembers(index).contains(gone.sessionId()));

        java.util.Set<String> found = store.sessionsOfSubject("user").await().indefinitely();

        assertTrue(found.contains(live.sessionId()));
        assertFalse(found.contains(gone.sessionId()));
        Await.until(
                "the index dropped the ended session",
                Duration.ofSeconds(5),
                () -> !redis.set(String.class).smembers(index).contains(gone.sessionId()));
        assertTrue(redis.set(String.class).smembers(index).contains(live.sessionId()));
    }

    @Test
    void commitIsACompareAndSetOnTheVersionAndIdempotentForItsOwner() {
        Handle handle = newSession();
        Begin.Locked locked = assertInstanceOf(Begin.Locked.class, begin(handle, "owner-a"));
        assertEquals("RT-0", locked.refreshToken());
        Handle next = handle.rotated();

        assertEquals(
                CommitOutcome.COMMITTED,
                store.commitRefresh(
                                handle.sessionId(),
                                "clover",
                                "owner-a",
                                0,
                                "",
                                issued("AT-1", next),
                                "RT-1",
                                next.secretHash(),
                                null)
                        .await()
                        .indefinitely());
        // A retry after a lost reply finds its own commit instead of reporting a conflict.
        assertEquals(
                CommitOutcome.COMMITTED,
                store.commitRefresh(
                                handle.sessionId(),
                                "clover",
                                "owner-a",
                                0,
                                "",
                                issued("AT-1", next),
                                "RT-1",
                                next.secretHash(),
                                null)
                        .await()
                        .indefinitely());
        // Anyone else still at version 0 lost the race and must not overwrite.
        assertEquals(
                CommitOutcome.VERSION_MOVED,
                store.commitRefresh(
                                handle.sessionId(),
                                "clover",
                                "owner-b",
                                0,
                                "",
                                issued("AT-2", next),
                                "RT-2",
                                null,
                                null)
                        .await()
                        .indefinitely());

        assertEquals(
                "AT-1",
                assertInstanceOf(Begin.Cached.class, begin(next, "owner-c"))
                        .issued()
                        .accessToken(),
                "within the reuse window the new handle gets the stored result");
        assertEquals(
                Optional.of("RT-1"),
                store.take(handle.sessionId(), "clover", 1L, SessionStore.ANY_KEY, null)
                        .await()
                        .indefinitely()
                        .orElseThrow()
                        .refreshToken(),
                "the rotated upstream refresh token was stored, at version 1");
    }

    @Test
    void aRetiredHandleWithinItsGraceGetsTheSameAnswerAndAfterItEndsTheSession() {
        Handle handle = newSession();
        begin(handle, "owner-a");
        Handle next = handle.rotated();
        store.commitRefresh(
                        handle.sessionId(),
                        "clover",
                        "owner-a",
                        0,
                        "",
                        issued("AT-1", next),
                        null,
                        next.secretHash(),
                        null)
                .await()
                .indefinitely();

        Begin.Cached cached = assertInstanceOf(Begin.Cached.class, begin(handle, "owner-b"));
        assertEquals("AT-1", cached.issued().accessToken());
        assertEquals(next.value(), cached.issued().handle(), "the retry learns the new handle");

        expire(handle, "prev_until");
        Begin.Ended ended = assertInstanceOf(Begin.Ended.class, begin(handle, "owner-b"));
        assertEquals(EndReason.REUSE, ended.reason());
        assertEquals(Optional.of("RT-0"), ended.taken().refreshToken(), "handed over for upstream revocation");
        assertInstanceOf(Begin.Gone.class, begin(next, "owner-c"), "the legitimate holder is signed out too");
    }

    @Test
    void anyOlderHandleEndsTheSession() {
        Handle first = newSession();
        refreshTwice(first);
        assertEquals(
                EndReason.REUSE,
                assertInstanceOf(Begin.Ended.class, begin(first, "thief")).reason());
    }

    @Test
    void onlyTheOwnerReleasesTheLockAndOthersWaitUntilItExpires() {
        Handle handle = newSession();
        assertInstanceOf(Begin.Locked.class, begin(handle, "owner-a"));
        assertEquals(
                0, assertInstanceOf(Begin.Busy.class, begin(handle, "owner-b")).version());
        store.release(handle.sessionId(), "owner-b").await().indefinitely();
        assertInstanceOf(Begin.Busy.class, begin(handle, "owner-b"), "a stranger cannot release the lock");
        store.release(handle.sessionId(), "owner-a").await().indefinitely();
        assertInstanceOf(Begin.Locked.class, begin(handle, "owner-b"));
    }

    /**
     * A lock that was never released (its replica died mid-refresh, or its upstream call failed after the request may
     * have been processed) leaves the refresh token in doubt: it may be spent, and one-time tokens presented again
     * are taken upstream for theft. The session ends instead, and the token is handed over to be revoked.
     */
    @Test
    void aLockLeftInDoubtEndsTheSessionRatherThanPresentItsRefreshTokenAgain() {
        Handle died = newSession();
        assertInstanceOf(Begin.Locked.class, begin(died, "owner-a"));
        expire(died, "lock_until");
        Begin.Ended ended = assertInstanceOf(Begin.Ended.class, begin(died, "owner-b"));
        assertEquals(EndReason.REFRESH_INTERRUPTED, ended.reason());
        assertEquals(Optional.of("RT-0"), ended.taken().refreshToken());
        assertFalse(redis.key().exists(keys.session(died.sessionId())), "the session ended");

        Handle failed = newSession();
        assertInstanceOf(Begin.Locked.class, begin(failed, "owner-a"));
        store.interrupt(failed.sessionId(), "owner-b").await().indefinitely();
        assertInstanceOf(Begin.Busy.class, begin(failed, "owner-b"), "a stranger cannot interrupt the lock");
        store.interrupt(failed.sessionId(), "owner-a").await().indefinitely();
        assertEquals(
                EndReason.REFRESH_INTERRUPTED,
                assertInstanceOf(Begin.Ended.class, begin(failed, "owner-b")).reason(),
                "an interrupted lock is decided at once, without waiting for it to expire");
    }

    @Test
    void aLockLeftInDoubtIsTakenOverWhenTheUpstreamWasSeenToReuseRefreshTokens() {
        Handle handle = newSession();
        begin(handle, "owner");
        // The upstream answered without a new refresh token: the stored one stays valid, and may be presented again.
        store.commitRefresh(handle.sessionId(), "clover", "owner", 0, "", issued("AT", handle), null, null, null)
                .await()
                .indefinitely();
        expire(handle, "refreshed");
        assertInstanceOf(Begin.Locked.class, begin(handle, "owner-a"));
        expire(handle, "lock_until");
        assertInstanceOf(Begin.Locked.class, begin(handle, "owner-b"), "the expired lock is taken over");
    }

    @Test
    void sessionsEndAtTheirDeadlineByRedisClock() {
        Handle idle = newSession();
        expire(idle, "expires");
        assertEquals(
                EndReason.IDLE,
                assertInstanceOf(Begin.Ended.class, begin(idle, "o")).reason());
        assertInstanceOf(Begin.Gone.class, begin(idle, "o"));

        Handle old = newSession();
        expire(old, "expires");
        expire(old, "max_until");
        assertEquals(
                EndReason.LIFETIME,
                assertInstanceOf(Begin.Ended.class, begin(old, "o")).reason());
    }

    @Test
    void aCommitSlidesTheIdleDeadlineButNeverPastTheAbsoluteLifetime() {
        Handle handle = newSession();
        String key = keys.session(handle.sessionId());
        long created = Long.parseLong(redis.hash(String.class).hget(key, "created"));
        redis.hash(String.class).hset(key, "expires", Long.toString(created + 60_000));
        begin(handle, "o");
        store.commitRefresh(handle.sessionId(), "clover", "o", 0, "", issued("AT", handle), null, null, null)
                .await()
                .indefinitely();
        long slid = Long.parseLong(redis.hash(String.class).hget(key, "expires"));
        assertTrue(slid >= created + Duration.ofDays(14).toMillis(), "slid by the idle timeout from the refresh");

        redis.hash(String.class).hset(key, "max_until", Long.toString(created + 120_000));
        begin(handle, "o2");
        store.commitRefresh(handle.sessionId(), "clover", "o2", 1, "x", issued("AT", handle), null, null, null)
                .await()
                .indefinitely();
        assertEquals(
                created + 120_000,
                Long.parseLong(redis.hash(String.class).hget(key, "expires")),
                "capped by the absolute lifetime");
        long ttl = redis.key(String.class).pttl(key);
        assertTrue(ttl > 0 && ttl <= 120_000 + SessionStore.RETENTION.toMillis(), "the record expires by itself");
    }

    @Test
    void theLastAnswerIsKeptBesideTheSessionEncryptedWhileItMayAnswerAndEndsWithIt() {
        Handle handle = newSession();
        begin(handle, "o");
        store.commitRefresh(
                        handle.sessionId(),
                        "clover",
                        "o",
                        0,
                        "",
                        issued("access-token-in-the-clear", handle),
                        null,
                        null,
                        null)
                .await()
                .indefinitely();
        String answer = keys.lastAnswer(handle.sessionId());
        assertFalse(redis.hash(String.class)
                .hgetall(keys.session(handle.sessionId()))
                .containsKey("issued"));
        assertFalse(redis.value(String.class).get(answer).contains("access-token-in-the-clear"), "encrypted");
        Duration grace = config.session().rotationGrace();
        Duration window = config.session().refreshReuseWindow();
        long lives = (grace.compareTo(window) > 0 ? grace : window)
                .plus(SessionStore.ANSWER_MARGIN)
                .toMillis();
        long ttl = redis.key(String.class).pttl(answer);
        assertTrue(ttl > lives - 5_000 && ttl <= lives, "expires past the grace and the reuse window: " + ttl);

        store.take(handle.sessionId(), "clover", null, SessionStore.ANY_KEY, null)
                .await()
                .indefinitely();
        assertFalse(redis.key(String.class).exists(answer), "ends with the session");
    }

    @Test
    void anUpstreamRefreshTokenLifetimeCapsTheSession() {
        Handle handle = newSession();
        String key = keys.session(handle.sessionId());
        begin(handle, "o");
        store.commitRefresh(handle.sessionId(), "clover", "o", 0, "", issued("AT", handle), "RT-1", null, 60L)
                .await()
                .indefinitely();
        long created = Long.parseLong(redis.hash(String.class).hget(key, "created"));
        long expires = Long.parseLong(redis.hash(String.class).hget(key, "expires"));
        assertTrue(expires <= created + 120_000, "refresh_expires_in=60 ends the session with its refresh token");
    }

    @Test
    void takeDeletesOnlyTheOwningClientsSessionAndReturnsItsCurrentRefreshToken() {
        Handle handle = newSession();
        assertEquals(
                Optional.empty(),
                store.take(handle.sessionId(), "someone-else", null, SessionStore.ANY_KEY, null)
                        .await()
                        .indefinitely());
        assertEquals(
                Optional.empty(),
                store.take(handle.sessionId(), "clover", 7L, SessionStore.ANY_KEY, null)
                        .await()
                        .indefinitely(),
                "only at the given version");
        assertEquals(
                Optional.of("RT-0"),
                store.take(handle.sessionId(), "clover", null, SessionStore.ANY_KEY, null)
                        .await()
                        .indefinitely()
                        .orElseThrow()
                        .refreshToken());
        assertInstanceOf(Begin.Gone.class, begin(handle, "o"));
        assertFalse(store.take(handle.sessionId(), "clover", null, SessionStore.ANY_KEY, null)
                .await()
                .indefinitely()
                .isPresent());
    }

    @Test
    void aSessionsWebModeRecordLivesOnlyAsLongAsItsSession() {
        Handle revoked = newSession();
        Handle reused = newSession();
        Handle idle = newSession();
        for (Handle handle : List.of(revoked, reused, idle)) {
            putWebRecord(handle);
            assertTrue(hasWebRecord(handle), "written while the session lives");
        }

        assertTrue(store.take(revoked.sessionId(), "clover", null, null, revoked.secretHash())
                .await()
                .indefinitely()
                .isPresent());
        assertFalse(hasWebRecord(revoked), "ended by revocation");
        putWebRecord(revoked);
        assertFalse(hasWebRecord(revoked), "a write that lost the race against the end does not bring it back");

        refreshTwice(reused);
        assertTrue(hasWebRecord(reused), "refreshes leave it alone");
        assertEquals(
                EndReason.REUSE,
                assertInstanceOf(Begin.Ended.class, begin(reused, "thief")).reason());
        assertFalse(hasWebRecord(reused), "ended by reuse detection");

        expire(idle, "expires");
        assertEquals(
                EndReason.IDLE,
                assertInstanceOf(Begin.Ended.class, begin(idle, "o")).reason());
        assertFalse(hasWebRecord(idle), "ended at its deadline");
    }

    private void putWebRecord(Handle handle) {
        webSessions
                .put(
                        handle.sessionId(),
                        new WebSessionStore.WebSession(
                                "clover", handle.secretHash(), "ID", Map.of(), "AT", "Bearer", 0, "openid"))
                .await()
                .indefinitely();
    }

    private boolean hasWebRecord(Handle handle) {
        return redis.key().exists(keys.webSession(handle.sessionId()));
    }

    @Test
    void aWiderScopeIsRefusedBeforeTheLockIsTaken() {
        Handle handle = newSession();
        assertInstanceOf(
                Begin.ScopeExceeded.class,
                store.beginRefresh(
                                handle.sessionId(),
                                handle.secretHash(),
                                "clover",
                                "admin openid",
                                null,
                                "o",
                                LOCK,
                                null)
                        .await()
                        .indefinitely());
        assertInstanceOf(Begin.Locked.class, begin(handle, "p"), "no lock was left behind");
    }

    @Test
    void anAbsurdUpstreamRefreshTokenLifetimeDoesNotEndTheSession() {
        Handle handle = Handles.newHandle();
        store.create(new SessionStore.NewSession(
                        handle.sessionId(),
                        handle.secretHash(),
                        "clover",
                        "openid",
                        null,
                        null,
                        "RT-0",
                        Long.MAX_VALUE / 10,
                        null))
                .await()
                .indefinitely();
        assertInstanceOf(Begin.Locked.class, begin(handle, "o"));
    }

    @Test
    void withoutItsKeyABoundSessionEndsForNoHandleNotEvenARetiredOne() {
        Handle handle = Handles.newHandle();
        store.create(new SessionStore.NewSession(
                        handle.sessionId(), handle.secretHash(), "clover", "openid", null, null, "RT-0", null, "jkt-1"))
                .await()
                .indefinitely();
        Handle forged = new Handle(handle.key(), Handles.newHandle().secret());
        assertInstanceOf(
                Begin.WrongDpopKey.class,
                store.beginRefresh(handle.sessionId(), forged.secretHash(), "clover", "", null, "o", LOCK, null)
                        .await()
                        .indefinitely());
        assertInstanceOf(
                Begin.Locked.class,
                store.beginRefresh(handle.sessionId(), handle.secretHash(), "clover", "", null, "o", LOCK, "jkt-1")
                        .await()
                        .indefinitely(),
                "the session lives on");
        assertEquals(
                EndReason.REUSE,
                assertInstanceOf(
                                Begin.Ended.class,
                                store.beginRefresh(
                                                handle.sessionId(),
                                                forged.secretHash(),
                                                "clover",
                                                "",
                                                null,
                                                "o",
                                                LOCK,
                                                "jkt-1")
                                        .await()
                                        .indefinitely())
                        .reason(),
                "with the key, an unknown secret is reuse");
    }

    @Test
    void aSessionBoundToADpopKeyRefusesOtherKeysAndNoKey() {
        Handle handle = Handles.newHandle();
        store.create(new SessionStore.NewSession(
                        handle.sessionId(), handle.secretHash(), "clover", "openid", null, null, "RT-0", null, "jkt-1"))
                .await()
                .indefinitely();
        assertInstanceOf(Begin.WrongDpopKey.class, begin(handle, "o"));
        assertInstanceOf(
                Begin.WrongDpopKey.class,
                store.beginRefresh(handle.sessionId(), handle.secretHash(), "clover", "", null, "o", LOCK, "jkt-2")
                        .await()
                        .indefinitely());
        assertInstanceOf(
                Begin.Locked.class,
                store.beginRefresh(handle.sessionId(), handle.secretHash(), "clover", "", null, "o", LOCK, "jkt-1")
                        .await()
                        .indefinitely());
        assertTrue(
                store.take(handle.sessionId(), "clover", null, null, null)
                        .await()
                        .indefinitely()
                        .isEmpty(),
                "not ended without its key");
        assertTrue(
                store.take(handle.sessionId(), "clover", null, "jkt-2", null)
                        .await()
                        .indefinitely()
                        .isEmpty(),
                "nor with another key");
        assertTrue(
                store.take(
                                handle.sessionId(),
                                "clover",
                                null,
                                "jkt-1",
                                Handles.newHandle().secretHash())
                        .await()
                        .indefinitely()
                        .isEmpty(),
                "nor with a made-up secret");
        assertTrue(store.take(handle.sessionId(), "clover", null, "jkt-1", handle.secretHash())
                .await()
                .indefinitely()
                .isPresent());
    }
}
