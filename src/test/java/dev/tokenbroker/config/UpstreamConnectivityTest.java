package dev.tokenbroker.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Trust certificates and the proxy are checked at start, one line per problem naming the property. */
class UpstreamConnectivityTest {

    private static List<String> problems(Map<String, String> properties) {
        Map<String, String> all = new HashMap<>(properties);
        all.put("broker.upstream.token-endpoint", "https://login.example.com/connect/token");
        return problemsOfAll(all);
    }

    private static List<String> problemsOfAll(Map<String, String> properties) {
        return ConfiguredUpstream.all(MappedConfig.of(properties)).stream()
                .flatMap(upstream -> UpstreamConnectivity.problems(upstream).stream())
                .toList();
    }

    @Test
    void everyUpstreamNeedsAnIssuerOrATokenEndpointAndItsProblemsNameItsOwnProperties() {
        assertEquals(
                List.of("broker.upstream.issuer or broker.upstream.token-endpoint is required"),
                problemsOfAll(Map.of()));
        assertEquals(
                List.of(
                        "broker.upstreams.partner.issuer or broker.upstreams.partner.token-endpoint is required",
                        "broker.upstreams.partner.proxy.password is set without"
                                + " broker.upstreams.partner.proxy.username"),
                problemsOfAll(Map.of(
                        "broker.upstreams.partner.connect-timeout", "2s",
                        "broker.upstreams.partner.proxy.url", "http://proxy.example:3128",
                        "broker.upstreams.partner.proxy.password", "p")),
                "without any client on the default upstream, it need not be configured");
    }

    @Test
    void twoUpstreamsCannotShareAnIssuer() {
        List<ConfiguredUpstream> upstreams = ConfiguredUpstream.all(MappedConfig.of(Map.of(
                "broker.upstream.issuer", "https://login.example.com/realms/a",
                "broker.upstreams.again.issuer", "https://login.example.com/realms/a/",
                "broker.upstreams.other.issuer", "https://login.example.com/realms/b")));
        assertEquals(
                List.of("broker.upstreams.again.issuer is also broker.upstream.issuer: one upstream per issuer (a"
                        + " logout token names its upstream by issuer)"),
                ConfiguredUpstream.sharedIssuers(upstreams));
    }

    @Test
    void anUpstreamIdIsShortLowerCaseAndNotDefault() {
        for (String id : List.of("default", "Partner", "-x", "a".repeat(33))) {
            IllegalArgumentException refused = org.junit.jupiter.api.Assertions.assertThrows(
                    IllegalArgumentException.class,
                    () -> ConfiguredUpstream.all(MappedConfig.of(
                            Map.of("broker.upstreams." + id + ".issuer", "https://login.example.com"))));
            assertEquals(
                    "broker.upstreams." + id + ": an upstream id is 1 to 32 lower-case letters, digits and dashes,"
                            + " and not 'default' (that is broker.upstream.*)",
                    refused.getMessage());
        }
        assertEquals(
                List.of("default", "a-1", "partner"),
                ConfiguredUpstream.all(MappedConfig.of(Map.of(
                                "broker.upstream.issuer", "https://login.example.com",
                                "broker.upstreams.partner.issuer", "https://partner.example",
                                "broker.upstreams.a-1.issuer", "https://a.example")))
                        .stream()
                        .map(ConfiguredUpstream::id)
                        .toList());
    }

    @Test
    void aTrustFileThatIsMissingOrHoldsNoCertificateStopsTheStart(@TempDir Path dir) throws Exception {
        Path empty = Files.writeString(dir.resolve("empty.pem"), "");
        Path key = Files.writeString(
                dir.resolve("key.pem"), "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n");
        Path missing = dir.resolve("missing.pem");

        assertEquals(
                List.of(
                        "broker.upstream.trust-certificates: " + empty + " holds no PEM certificate",
                        "broker.upstream.trust-certificates: " + key + " holds no valid PEM certificate",
                        "broker.upstream.trust-certificates: " + missing + " cannot be read (NoSuchFileException)"),
                problems(Map.of("broker.upstream.trust-certificates", empty + "," + key + "," + missing)));
    }

    @Test
    void theProxyIsAnHttpUrlAndItsCredentialsNeedIt() {
        assertEquals(List.of(), problems(Map.of("broker.upstream.proxy.url", "http://egress.example:3128")));
        assertEquals(
                List.of(
                        "broker.upstream.proxy.url must be http://host:port, with no path (is https://egress.example/x)",
                        "broker.upstream.proxy.password is set without broker.upstream.proxy.username"),
                problems(Map.of(
                        "broker.upstream.proxy.url", "https://egress.example/x",
                        "broker.upstream.proxy.password", "pw")));
        assertEquals(
                List.of("broker.upstream.proxy.url must not hold credentials: set broker.upstream.proxy.username and"
                        + " password"),
                problems(Map.of("broker.upstream.proxy.url", "http://broker:s3cret@egress.example:3128")));
        assertEquals(
                List.of("broker.upstream.proxy.username, password and non-proxy-hosts need broker.upstream.proxy.url"),
                problems(Map.of("broker.upstream.proxy.username", "broker")));
    }
}
