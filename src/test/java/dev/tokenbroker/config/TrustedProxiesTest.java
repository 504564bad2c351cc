package dev.tokenbroker.config;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrustedProxiesTest {

    private final TrustedProxies ingress = new TrustedProxies(List.of("10.0.0.0/8", "fd00::/8", "192.168.1.7"));

    @Test
    void forwardedForFromAnUntrustedPeerIsIgnored() {
        assertEquals("203.0.113.5", ingress.sourceAddress("203.0.113.5", List.of("198.51.100.1")));
        assertEquals("11.0.0.1", ingress.sourceAddress("11.0.0.1", List.of("10.1.1.1")));
    }

    @Test
    void withoutTrustedProxiesThePeerCountsWhateverTheHeaderSays() {
        TrustedProxies none = new TrustedProxies(List.of());
        assertEquals("127.0.0.1", none.sourceAddress("127.0.0.1", List.of("198.51.100.1")));
    }

    @Test
    void aTrustedPeerNamesTheRightmostHopThatIsNotATrustedProxy() {
        // The client wrote the first entry itself; the ingress appended what it saw (198.51.100.9).
        assertEquals("198.51.100.9", ingress.sourceAddress("10.0.0.3", List.of("1.2.3.4, 198.51.100.9, 10.2.0.1")));
        assertEquals("198.51.100.9", ingress.sourceAddress("10.0.0.3", List.of("6.6.6.6", "198.51.100.9")));
        assertEquals("198.51.100.9", ingress.sourceAddress("192.168.1.7", List.of("198.51.100.9")));
    }

    @Test
    void aTrustedPeerWithoutHeaderOrWithOnlyTrustedHopsCountsAsTheNearestOfThem() {
        assertEquals("10.0.0.3", ingress.sourceAddress("10.0.0.3", List.of()));
        assertEquals("10.9.9.9", ingress.sourceAddress("10.0.0.3", List.of("10.9.9.9")));
    }

    @Test
    void garbageInTheChainIsNeverAKey() {
        assertEquals("10.0.0.3", ingress.sourceAddress("10.0.0.3", List.of("1.2.3.4, not-an-address")));
        assertEquals("10.0.0.3", ingress.sourceAddress("10.0.0.3", List.of("999.1.1.1")));
        assertEquals("198.51.100.9", ingress.sourceAddress("10.0.0.3", List.of("whatever, 198.51.100.9")));
    }

    @Test
    void hopsWithAPortCountAsTheirAddress() {
        // Some proxies (e.g. Azure Application Gateway) append the client's port.
        assertEquals("198.51.100.9", ingress.sourceAddress("10.0.0.3", List.of("198.51.100.9:51234")));
        assertEquals("2001:db8:1:2:0:0:0:0/64", ingress.sourceAddress("10.0.0.3", List.of("[2001:db8:1:2::7]:443")));
        assertEquals(
                "2001:db8:1:2:0:0:0:0/64", ingress.sourceAddress("10.0.0.3", List.of("2001:db8:1:2::7")), "no port");
    }

    @Test
    void ipv6CountsByItsSlash64AndMappedIpv4AsIpv4() {
        assertEquals(
                "2001:db8:1:2:0:0:0:0/64",
                ingress.sourceAddress("fd00::1", List.of("2001:db8:1:2:aaaa:bbbb:cccc:dddd")));
        assertEquals(
                ingress.sourceAddress("2001:db8:1:2::1", List.of()),
                ingress.sourceAddress("2001:db8:1:2::2", List.of()));
        assertEquals("198.51.100.9", ingress.sourceAddress("fd00::1", List.of("::ffff:198.51.100.9")));
    }

    @Test
    void literalsAreParsedWithoutNameLookups() {
        assertNull(TrustedProxies.literal("localhost"));
        assertNull(TrustedProxies.literal("example.com"));
        assertNull(TrustedProxies.literal("1.2.3"));
        assertNull(TrustedProxies.literal("abc:def:"));
        assertEquals(4, TrustedProxies.literal("0.0.0.0").length);
        assertEquals(16, TrustedProxies.literal("::1").length);
    }

    @Test
    void badEntriesStopTheBrokerNamingTheProperty() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new TrustedProxies(List.of("10.0.0.0/33", "proxy.local", "::/x")));
        String[] lines = e.getMessage().split("\n");
        assertEquals(3, lines.length, e.getMessage());
        for (String line : lines) {
            assertTrue(line.startsWith("broker.rate-limit.trusted-proxies: '"), line);
        }
    }
}
