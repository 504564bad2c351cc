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
        BrokerConfig config = MappedConfig.of(all);
        return UpstreamConnectivity.problems(config.upstream());
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
