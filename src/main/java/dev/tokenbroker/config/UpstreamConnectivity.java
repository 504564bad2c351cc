package dev.tokenbroker.config;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks how the broker reaches an upstream, before the first call would fail on it: it has an issuer or a token
 * endpoint, every {@code trust-certificates} file holds PEM certificates, and the proxy is an {@code http://} URL with
 * a host and no credentials in it, its password comes with a user name, and neither comes without the proxy.
 */
final class UpstreamConnectivity {

    private UpstreamConnectivity() {}

    static List<String> problems(ConfiguredUpstream configured) {
        BrokerConfig.Upstream upstream = configured.settings();
        List<String> problems = new ArrayList<>();
        if (upstream.issuer().isEmpty() && upstream.tokenEndpoint().isEmpty()) {
            problems.add(
                    configured.property("issuer") + " or " + configured.property("token-endpoint") + " is required");
        }
        for (Path file : upstream.trustCertificates().orElse(List.of())) {
            String problem = certificatesIn(file);
            if (problem != null) {
                problems.add(configured.property("trust-certificates") + ": " + file + " " + problem);
            }
        }
        BrokerConfig.Upstream.Proxy proxy = upstream.proxy();
        if (proxy.url().isPresent()) {
            URI url = proxy.url().get();
            if (url.getRawUserInfo() != null) {
                // Never printed: it holds credentials.
                problems.add(configured.property("proxy.url") + " must not hold credentials: set "
                        + configured.property("proxy.username") + " and password");
            } else if (!"http".equals(url.getScheme())
                    || url.getHost() == null
                    || url.getRawQuery() != null
                    || url.getRawPath() != null
                            && !url.getRawPath().isEmpty()
                            && !url.getRawPath().equals("/")) {
                problems.add(
                        configured.property("proxy.url") + " must be http://host:port, with no path (is " + url + ")");
            }
            if (proxy.password().isPresent() && proxy.username().isEmpty()) {
                problems.add(configured.property("proxy.password") + " is set without "
                        + configured.property("proxy.username"));
            }
        } else if (proxy.username().isPresent()
                || proxy.password().isPresent()
                || proxy.nonProxyHosts().isPresent()) {
            problems.add(configured.property("proxy.username") + ", password and non-proxy-hosts need "
                    + configured.property("proxy.url"));
        }
        return problems;
    }

    /** Null when the file holds at least one certificate, else what is wrong with it. */
    private static String certificatesIn(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return CertificateFactory.getInstance("X.509")
                            .generateCertificates(in)
                            .isEmpty()
                    ? "holds no PEM certificate"
                    : null;
        } catch (IOException e) {
            return "cannot be read (" + e.getClass().getSimpleName() + ")";
        } catch (CertificateException e) {
            return "holds no valid PEM certificate";
        }
    }
}
