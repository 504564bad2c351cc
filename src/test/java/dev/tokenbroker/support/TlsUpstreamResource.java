package dev.tokenbroker.support;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.http.MockWebServerWrapper;
import no.nav.security.mock.oauth2.http.Ssl;
import no.nav.security.mock.oauth2.http.SslKeystore;
import no.nav.security.mock.oauth2.token.OAuth2TokenProvider;
import okhttp3.mockwebserver.RecordedRequest;

/**
 * A company's upstream as the broker meets it: a real OpenID provider (mock-oauth2-server) served over https with a
 * certificate from a CA the JVM does not trust ({@link TestCa}), under the name {@code upstream.test}, which only the
 * egress proxy ({@link ConnectProxy}, with Basic credentials) can resolve. The broker is given the proxy and, unless
 * init argument {@code trust} is {@code false}, the CA as {@code broker.upstream.trust-certificates}.
 */
public class TlsUpstreamResource implements QuarkusTestResourceLifecycleManager {

    public static final String HOST = "upstream.test";
    public static final String PROXY_USER = "egress";
    public static final String PROXY_PASSWORD = "proxy-pw-" + Long.toHexString(System.nanoTime());

    private static MockOAuth2Server server;
    private static ConnectProxy proxy;
    private boolean trust;

    @Override
    public void init(Map<String, String> initArgs) {
        trust = Boolean.parseBoolean(initArgs.getOrDefault("trust", "true"));
    }

    @Override
    public Map<String, String> start() {
        try {
            Path dir = Files.createTempDirectory("tb-upstream-tls");
            Path ca = TestCa.issue(dir, "upstream", "dns:" + HOST + ",dns:localhost,ip:127.0.0.1");
            SslKeystore keystore = new SslKeystore(
                    TestCa.PASSWORD,
                    dir.resolve("upstream.p12").toFile(),
                    SslKeystore.KeyStoreType.PKCS12,
                    TestCa.PASSWORD);
            server = new MockOAuth2Server(new OAuth2Config(
                    false,
                    null,
                    null,
                    false,
                    new OAuth2TokenProvider(),
                    Set.of(),
                    new MockWebServerWrapper(new Ssl(keystore))));
            server.start(InetAddress.getLoopbackAddress(), 0);
            proxy = new ConnectProxy(PROXY_USER, PROXY_PASSWORD, Map.of(HOST, InetAddress.getLoopbackAddress()));
            Map<String, String> config = new HashMap<>();
            config.put(
                    "broker.upstream.issuer",
                    "https://" + HOST + ":" + server.baseUrl().port() + "/connect");
            config.put("broker.upstream.proxy.url", "http://127.0.0.1:" + proxy.port());
            config.put("broker.upstream.proxy.username", PROXY_USER);
            config.put("broker.upstream.proxy.password", PROXY_PASSWORD);
            config.put("broker.upstream.discovery-retry-interval", "1s");
            if (trust) {
                config.put("broker.upstream.trust-certificates", ca.toString());
            }
            return config;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("cannot start the upstream over TLS", e);
        }
    }

    @Override
    public void stop() {
        if (server != null) {
            server.shutdown();
        }
        try {
            if (proxy != null) {
                proxy.close();
            }
        } catch (IOException e) {
            // closing anyway
        }
    }

    public static MockOAuth2Server server() {
        return server;
    }

    /** The paths (without query) of the requests the upstream received since the last call, in order. */
    public static List<String> receivedPaths() {
        List<String> paths = new ArrayList<>();
        RecordedRequest request;
        for (int i = 0; i < 10_000 && (request = MockUpstreamResource.poll(server, 100)) != null; i++) {
            paths.add(request.getPath().replaceAll("\\?.*", ""));
        }
        return paths;
    }

    public static ConnectProxy proxy() {
        return proxy;
    }
}
