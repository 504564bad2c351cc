package dev.tokenbroker.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The one rule for URLs the broker sends secrets to or takes signing keys and endpoints from: https, or plain http on
 * a loopback host ({@code 127.0.0.0/8}, {@code ::1}, {@code localhost}), where tests and dev mode run their upstreams.
 * On any other network plain http lets whoever sits on the path read the client secret and refresh tokens, or answer
 * with endpoints and keys of their own. Configured URLs are checked here at startup, one problem line per property;
 * endpoints from OpenID discovery by the upstream metadata, and browser origins by {@link Origins}, with the same rule.
 */
public final class SecureUrls {

    /** An IPv4 literal in 127.0.0.0/8: a name that merely starts with "127." is not loopback. */
    private static final Pattern IPV4_LOOPBACK = Pattern.compile("127(\\.\\d{1,3}){3}");

    private SecureUrls() {}

    /** Whether the URL is https with a host, or plain http to a loopback host. */
    public static boolean isSecureOrLoopback(URI url) {
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        String host = url.getHost();
        if (host == null) {
            return false;
        }
        return scheme.equals("https") || (scheme.equals("http") && isLoopbackHost(host));
    }

    /** {@code localhost}, an IPv4 literal in 127.0.0.0/8, or {@code ::1} (bracketed as URIs spell it, or not). */
    public static boolean isLoopbackHost(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return h.equals("localhost")
                || h.equals("[::1]")
                || h.equals("::1")
                || IPV4_LOOPBACK.matcher(h).matches();
    }

    /** One line for each configured upstream or admin URL that breaks the rule, naming the property. */
    static List<String> problems(BrokerConfig config) {
        List<String> problems = new ArrayList<>();
        for (ConfiguredUpstream upstream : ConfiguredUpstream.allOrNone(config)) {
            check(problems, upstream.property("issuer"), upstream.settings().issuer());
            check(
                    problems,
                    upstream.property("token-endpoint"),
                    upstream.settings().tokenEndpoint());
            check(
                    problems,
                    upstream.property("revocation-endpoint"),
                    upstream.settings().revocationEndpoint());
        }
        BrokerConfig.Admin admin = config.admin();
        admin.issuer().ifPresent(issuer -> {
            // An issuer is a URL by OpenID Connect Discovery 1.0 §3, held as text because tokens compare it exactly.
            Optional<URI> url = parse(issuer);
            if (url.isEmpty() || !isSecureOrLoopback(url.get())) {
                problems.add(problem("broker.admin.issuer", issuer));
            }
        });
        check(problems, "broker.admin.jwks-uri", admin.jwksUri());
        return problems;
    }

    private static void check(List<String> problems, String property, Optional<URI> url) {
        url.filter(u -> !isSecureOrLoopback(u)).ifPresent(u -> problems.add(problem(property, u.toString())));
    }

    private static String problem(String property, String value) {
        return property + ": '" + value + "' must be an https URL (plain http only on loopback)";
    }

    private static Optional<URI> parse(String text) {
        try {
            return Optional.of(new URI(text));
        } catch (URISyntaxException e) {
            return Optional.empty();
        }
    }
}
