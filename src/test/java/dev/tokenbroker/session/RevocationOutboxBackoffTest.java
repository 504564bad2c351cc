package dev.tokenbroker.session;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The wait before the next upstream attempt after a number of failed ones. */
class RevocationOutboxBackoffTest {

    private static final Duration INITIAL = Duration.ofSeconds(10);
    private static final Duration MAX = Duration.ofHours(1);

    @Test
    void backoffStartsAtInitialAndDoublesPerFailure() {
        assertEquals(Duration.ofSeconds(10), RevocationOutbox.backoff(INITIAL, MAX, 1));
        assertEquals(Duration.ofSeconds(20), RevocationOutbox.backoff(INITIAL, MAX, 2));
        assertEquals(Duration.ofSeconds(40), RevocationOutbox.backoff(INITIAL, MAX, 3));
        assertEquals(Duration.ofSeconds(2560), RevocationOutbox.backoff(INITIAL, MAX, 9));
    }

    @Test
    void backoffIsCappedAtMaxWithoutOverflow() {
        assertEquals(MAX, RevocationOutbox.backoff(INITIAL, MAX, 10));
        assertEquals(MAX, RevocationOutbox.backoff(INITIAL, MAX, Integer.MAX_VALUE));
        assertEquals(Duration.ofSeconds(5), RevocationOutbox.backoff(Duration.ofSeconds(30), Duration.ofSeconds(5), 1));
    }
}
