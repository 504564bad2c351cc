package dev.tokenbroker.config;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A client names its upstream, or has the default one; a name that is not configured stops the start. */
class ClientUpstreamsTest {

    private static Map<String, String> partnerClient(Map<String, String> more) {
        Map<String, String> all = new HashMap<>(more);
        all.put("broker.clients.partner.client-id", "partner-app");
        all.put("broker.clients.partner.client-secret", "p");
        all.put("broker.clients.partner.redirect-uris", "partner://cb");
        return all;
    }

    @Test
    void aClientIsServedByTheUpstreamItNamesAndItsTokensAreBoundToIt() {
        Clients clients = new Clients(MappedConfig.of(partnerClient(Map.of(
                "broker.upstream.issuer", "https://login.example.com",
                "broker.upstreams.partner.issuer", "https://partner.example",
                "broker.clients.partner.upstream", "partner"))));

        assertEquals("partner", clients.byClientId("partner-app").orElseThrow().upstream());
        assertEquals(
                ConfiguredUpstream.DEFAULT,
                clients.byClientId("clover").orElseThrow().upstream());
        assertEquals(Set.of("partner-app"), clients.clientIdsAt("partner"));
        assertEquals(Set.of("clover"), clients.clientIdsAt(ConfiguredUpstream.DEFAULT));
        assertEquals("@partner", clients.upstreamBinding("partner-app"));
        assertEquals("", clients.upstreamBinding("clover"), "tokens stored before several upstreams stay readable");
        assertEquals("", clients.upstreamBinding("nobody"));
    }

    @Test
    void anUpstreamThatIsNotConfiguredStopsTheStart() {
        String unknown = assertThrows(
                        IllegalArgumentException.class,
                        () -> new Clients(MappedConfig.of(partnerClient(Map.of(
                                "broker.upstream.issuer", "https://login.example.com",
                                "broker.clients.partner.upstream", "partnr")))))
                .getMessage();
        assertEquals("broker.clients.partner.upstream: 'partnr' is not in broker.upstreams", unknown);

        String noDefault = assertThrows(
                        IllegalArgumentException.class,
                        () -> new Clients(MappedConfig.of(partnerClient(Map.of(
                                "broker.upstreams.partner.issuer", "https://partner.example",
                                "broker.clients.partner.upstream", "partner")))))
                .getMessage();
        assertEquals(
                List.of("broker.clients.clover.upstream: unset, and broker.upstream.issuer (or token-endpoint) is not"
                        + " configured: name one of broker.upstreams [partner]"),
                List.of(noDefault.split("\n")));
    }
}
