package dev.tokenbroker.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** The Lua scripts behind single-flight refresh, against a real Redis. */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class SessionStoreTest {

    @Inject
    SessionStore store;

    private static IssuedTokens issued(String accessToken) {
        return new IssuedTokens(accessToken, "Bearer", 3600L, "openid", null, "", System.currentTimeMillis());
    }

    private String newSession() {
        String hash = Handles.hash(Handles.newHandle());
        store.create(hash, "clover", "openid", "user", null, "RT-0", System.currentTimeMillis());
        return hash;
    }

    @Test
    void commitIsACompareAndSetOnTheVersionAndIdempotentForItsOwner() {
        String hash = newSession();
        assertTrue(store.tryLock(hash, "owner-a", Duration.ofSeconds(30)));

        assertEquals(SessionStore.CommitOutcome.COMMITTED,
                store.commitRefresh(hash, "owner-a", 0, 1L, issued("AT-1"), "RT-1"));
        // A retry after a lost reply finds its own commit instead of reporting a conflict.
        assertEquals(SessionStore.CommitOutcome.COMMITTED,
                store.commitRefresh(hash, "owner-a", 0, 1L, issued("AT-1"), "RT-1"));
        assertFalse(store.isLocked(hash), "the commit released the owner's lock");
        // Anyone else still at version 0 lost the race and must not overwrite.
        assertEquals(SessionStore.CommitOutcome.VERSION_MOVED,
                store.commitRefresh(hash, "owner-b", 0, 2L, issued("AT-2"), "RT-2"));

        Session session = store.find(hash).orElseThrow();
        assertEquals(1, session.version());
        assertEquals("RT-1", session.refreshToken());
        assertEquals("AT-1", session.lastIssued().orElseThrow().accessToken());
    }

    @Test
    void onlyTheOwnerExtendsOrReleasesTheLock() {
        String hash = newSession();
        assertTrue(store.tryLock(hash, "owner-a", Duration.ofSeconds(30)));
        assertFalse(store.tryLock(hash, "owner-b", Duration.ofSeconds(30)));
        assertFalse(store.extendLock(hash, "owner-b", Duration.ofSeconds(30)));
        store.unlock(hash, "owner-b");
        assertTrue(store.isLocked(hash));
        assertTrue(store.extendLock(hash, "owner-a", Duration.ofSeconds(30)));
        store.unlock(hash, "owner-a");
        assertFalse(store.isLocked(hash));
    }

    @Test
    void takeDeletesOnlyTheOwningClientsSessionAndReturnsItsCurrentRefreshToken() {
        String hash = newSession();
        assertEquals(Optional.empty(), store.take(hash, "someone-else"));
        assertTrue(store.find(hash).isPresent());
        assertEquals(Optional.of("RT-0"), store.take(hash, "clover"));
        assertTrue(store.find(hash).isEmpty());
        assertEquals(Optional.empty(), store.take(hash, "clover"));
    }

    @Test
    void aDeadRefreshTokenEndsTheSessionOnlyIfNoNewerOneWasCommitted() {
        String hash = newSession();
        store.tryLock(hash, "owner-a", Duration.ofSeconds(30));
        store.commitRefresh(hash, "owner-a", 0, 1L, issued("AT-1"), "RT-1");
        store.deleteIfVersion(hash, 0);
        assertTrue(store.find(hash).isPresent(), "version 1 holds a live refresh token");
        store.deleteIfVersion(hash, 1);
        assertTrue(store.find(hash).isEmpty());
    }
}
