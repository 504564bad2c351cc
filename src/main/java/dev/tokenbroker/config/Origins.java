package dev.tokenbroker.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Optional;

/**
 * Browser origins and URLs as the web flow compares them (RFC 6454): {@code scheme://host[:port]} in lower case, the
 * default port left out. Every comparison is exact on that form; nothing is matched by prefix or pattern.
 */
public final class Origins {

    /** Where the upstream sends the browser back in web mode; a web client registers {@code <broker origin>} + this. */
    public static final String CALLBACK_PATH = "/bff/callback";

    private Origins() {}

    /** Whether the text is exactly an origin in canonical form. */
    public static boolean isOrigin(String text) {
        return parseHttp(text)
                .filter(u -> (u.getRawPath() == null || u.getRawPath().isEmpty())
                        && u.getRawQuery() == null
                        && u.getRawFragment() == null)
                .map(u -> originOf(u).equals(text))
                .orElse(false);
    }

    /**
     * Whether a browser origin or URL may be trusted with credentialed calls and sessions: https, or plain http on
     * loopback only (dev and tests), as {@link SecureUrls} has it. Script injected into a plain-http page on the
     * network could otherwise read the user and take access tokens.
     */
    public static boolean isSecureOrLoopback(String text) {
        return parseHttp(text).map(SecureUrls::isSecureOrLoopback).orElse(false);
    }

    /** An absolute http(s) URL with a host, no user info and no fragment. */
    public static boolean isHttpUrl(String text) {
        return parseHttp(text).filter(u -> u.getRawFragment() == null).isPresent();
    }

    /** The origin of an http(s) URL. */
    public static String originOf(URI uri) {
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        int port = uri.getPort();
        boolean defaultPort =
                port == -1 || (scheme.equals("http") && port == 80) || (scheme.equals("https") && port == 443);
        return scheme + "://" + uri.getHost().toLowerCase(Locale.ROOT) + (defaultPort ? "" : ":" + port);
    }

    /**
     * Whether {@code /bff/login} may send the browser to this URL afterwards: it equals an exact entry of the client's
     * {@code return-to}, or its origin is an entry that is an origin.
     */
    public static boolean returnToAllowed(RegisteredClient client, String returnTo) {
        Optional<URI> uri = parseHttp(returnTo).filter(u -> u.getRawFragment() == null);
        if (uri.isEmpty()) {
            return false;
        }
        String origin = originOf(uri.get());
        return client.returnTo().stream().anyMatch(entry -> entry.equals(returnTo) || entry.equals(origin));
    }

    static Optional<URI> parseHttp(String text) {
        if (text == null || text.length() > 2048) {
            return Optional.empty();
        }
        try {
            URI uri = new URI(text);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!(scheme.equals("http") || scheme.equals("https"))
                    || uri.getHost() == null
                    || uri.getRawUserInfo() != null) {
                return Optional.empty();
            }
            return Optional.of(uri);
        } catch (URISyntaxException e) {
            return Optional.empty();
        }
    }
}
