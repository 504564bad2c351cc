package dev.tokenbroker.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class IssuedTokensTest {

    static IssuedTokens issuedAt(long millis, Long expiresIn) {
        return new IssuedTokens("AT", "Bearer", expiresIn, "openid", null, "", millis);
    }

    @Test
    void reusedResultsReportTheirRemainingLifetime() {
        long now = 1_000_000_000L;
        assertEquals(3600, issuedAt(now, 3600L).expiresInAt(now));
        assertEquals(3590, issuedAt(now - 10_500, 3600L).expiresInAt(now), "reduced by the result's age");
        assertEquals(0, issuedAt(now - 4_000_000, 3600L).expiresInAt(now), "never negative");
        assertEquals(3600, issuedAt(now + 2_000, 3600L).expiresInAt(now), "another host's clock ahead of ours");
        assertNull(issuedAt(now, null).expiresInAt(now));
    }
}
