package dev.tokenbroker.token;

import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.error.BrokerException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestedScopeTest {

    @Test
    void noScopeOrTheWholeScopeMeansTheSessionsScope() {
        assertTrue(RequestedScope.parse(null).within("openid api").isWhole());
        assertTrue(RequestedScope.parse(" ").isWhole());
        assertTrue(RequestedScope.parse("api openid").within("openid api").isWhole());
        assertEquals(
                Optional.empty(),
                RequestedScope.parse("api openid").within("openid api").parameter());
    }

    @Test
    void aNarrowerScopeIsNormalisedSoEqualRequestsCoalesce() {
        assertEquals(
                "a openid",
                RequestedScope.parse("openid  a").within("openid a b").key());
        assertEquals(RequestedScope.parse("a openid"), RequestedScope.parse("openid a"));
        assertEquals(Optional.of("a openid"), RequestedScope.parse("openid a").parameter());
    }

    @Test
    void aWiderScopeIsInvalidScope() {
        assertThrows(
                BrokerException.InvalidScope.class,
                () -> RequestedScope.parse("openid admin").within("openid"));
    }

    @Test
    void withoutAGrantedScopeTheUpstreamDecides() {
        assertEquals("x", RequestedScope.parse("x").within("").key());
        assertEquals("x", RequestedScope.parse("x").within(null).key());
    }
}
