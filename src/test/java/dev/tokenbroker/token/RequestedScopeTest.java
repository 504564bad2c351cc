package dev.tokenbroker.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.error.BrokerException;

class RequestedScopeTest {

    @Test
    void noScopeOrTheWholeScopeMeansTheSessionsScope() {
        assertEquals("", RefreshCoordinator.requestedScope(null, "openid api"));
        assertEquals("", RefreshCoordinator.requestedScope("api openid", "openid api"));
    }

    @Test
    void aNarrowerScopeIsNormalisedSoEqualRequestsCoalesce() {
        assertEquals("a openid", RefreshCoordinator.requestedScope("openid  a", "openid a b"));
        assertEquals("a openid", RefreshCoordinator.requestedScope("a openid", "openid a b"));
    }

    @Test
    void aWiderScopeIsInvalidScope() {
        assertThrows(BrokerException.InvalidScope.class, () -> RefreshCoordinator.requestedScope("openid admin", "openid"));
    }

    @Test
    void withoutAGrantedScopeTheUpstreamDecides() {
        assertEquals("x", RefreshCoordinator.requestedScope("x", ""));
    }
}
