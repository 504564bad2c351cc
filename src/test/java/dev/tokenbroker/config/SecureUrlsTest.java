package dev.tokenbroker.config;

import java.net.URI;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Upstream and admin URLs receive the client secret and refresh tokens, or name the keys and endpoints the broker
 * trusts: https only, plain http on loopback (issue 19 item 7). Checked on a configuration mapped as the broker maps it.
 */
class SecureUrlsTest {

    private static List<String> problems(Map<String, String> properties) {
        BrokerConfig config = MappedConfig.of(properties);
        return SecureUrls.problems(config);
    }

    @Test
    void plainHttpOffLoopbackIsOneLineNamingEachProperty() {
        assertEquals(
                List.of(
                        "broker.upstream.issuer: 'http://login.example.com' must be an https URL (plain http only on"
                                + " loopback)",
                        "broker.upstream.token-endpoint: 'http://login.example.com/connect/token' must be an https URL"
                                + " (plain http only on loopback)",
                        "broker.upstream.revocation-endpoint: 'http://10.0.0.7/connect/revocation' must be an https"
                                + " URL (plain http only on loopback)",
                        "broker.admin.issuer: 'http://ops.example.com/realms/ops' must be an https URL (plain http only"
                                + " on loopback)",
                        "broker.admin.jwks-uri: 'http://ops.example.com/realms/ops/certs' must be an https URL (plain"
                                + " http only on loopback)"),
                problems(Map.of(
                        "broker.upstream.issuer", "http://login.example.com",
                        "broker.upstream.token-endpoint", "http://login.example.com/connect/token",
                        "broker.upstream.revocation-endpoint", "http://10.0.0.7/connect/revocation",
                        "broker.admin.issuer", "http://ops.example.com/realms/ops",
                        "broker.admin.jwks-uri", "http://ops.example.com/realms/ops/certs",
                        "broker.admin.audience", "token-broker")));
    }

    @Test
    void httpsAnywhereAndPlainHttpOnLoopbackPass() {
        assertEquals(
                List.of(),
                problems(Map.of(
                        "broker.upstream.issuer", "https://login.example.com/realms/app",
                        "broker.upstream.token-endpoint", "http://127.0.0.1:8090/connect/token",
                        "broker.upstream.revocation-endpoint", "http://localhost:8090/connect/revocation",
                        "broker.admin.issuer", "http://[::1]:9999/admin",
                        "broker.admin.jwks-uri", "http://127.4.5.6:9999/admin/jwks")));
        assertEquals(List.of(), problems(Map.of()), "nothing configured, nothing to check");
    }

    @Test
    void whatOnlyLooksLikeLoopbackOrHttpsIsRefused() {
        assertEquals(
                List.of(
                        "broker.upstream.issuer: 'http://127.attacker.example' must be an https URL (plain http only on"
                                + " loopback)",
                        "broker.upstream.token-endpoint: 'http://localhost.attacker.example/token' must be an https URL"
                                + " (plain http only on loopback)",
                        "broker.upstream.revocation-endpoint: 'login.example.com/revoke' must be an https URL (plain"
                                + " http only on loopback)",
                        "broker.admin.issuer: 'ops' must be an https URL (plain http only on loopback)",
                        "broker.admin.jwks-uri: 'ftp://ops.example.com/certs' must be an https URL (plain http only on"
                                + " loopback)"),
                problems(Map.of(
                        "broker.upstream.issuer", "http://127.attacker.example",
                        "broker.upstream.token-endpoint", "http://localhost.attacker.example/token",
                        "broker.upstream.revocation-endpoint", "login.example.com/revoke",
                        "broker.admin.issuer", "ops",
                        "broker.admin.jwks-uri", "ftp://ops.example.com/certs")));
    }

    @Test
    void loopbackIsTheIpv4LoopbackNetIpv6LoopbackAndLocalhostOnly() {
        for (String url : List.of(
                "http://127.0.0.1/",
                "http://127.255.0.9:80/",
                "http://LOCALHOST:1/",
                "http://[::1]:8/",
                "HTTPS://a.b/")) {
            assertTrue(SecureUrls.isSecureOrLoopback(URI.create(url)), url);
        }
        for (String url : List.of(
                "http://10.0.0.1/", "http://128.0.0.1/", "http://127.0.0.1.nip.io/", "http://[::2]/", "https:///x")) {
            assertFalse(SecureUrls.isSecureOrLoopback(URI.create(url)), url);
        }
    }
}
