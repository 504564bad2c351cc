import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Web sessions at broker d (the API proxy rows), signed in the way a browser does it; not measured. */
final class WebLogins {
    static final String SESSION_COOKIE = "__Host-tb-session";
    static final String LOGIN_COOKIE = "__Host-tb-login";

    private WebLogins() {}

    /**
     * {@code GET /bff/login} (302 to the upstream, login cookie) → the upstream's {@code /connect/authorize} (302 to
     * the broker's callback with code and state) → {@code GET /bff/callback} with the login cookie (302, session
     * cookie). Sequential, bounded in count and time (120 s); any other answer fails the row. Returns the session
     * cookies' values.
     */
    static List<String> create(Config cfg, int count) throws IOException {
        List<String> sessions = new ArrayList<>(count);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        URI broker = URI.create(cfg.brokerD);
        String start =
                "/bff/login?client_id=" + Http.enc(cfg.webClientId) + "&return_to=" + Http.enc(cfg.appOrigin + "/");
        try (Http.Client c = Http.Client.of(cfg.brokerD)) {
            for (int i = 0; i < count; i++) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("web logins: only " + i + " of " + count + " within 120 s");
                }
                int s = c.send("GET", start, null, null, null);
                String login = setCookie(c.response, LOGIN_COOKIE);
                if (s != 302 || c.response.location == null || login == null) {
                    throw new IOException("web login: GET /bff/login answered " + s + " " + c.body());
                }
                URI callback = authorize(URI.create(c.response.location));
                if (!callback.getRawAuthority().equals(broker.getRawAuthority())
                        || !callback.getRawPath().equals("/bff/callback")) {
                    throw new IOException("web login: the upstream redirects to " + callback.getRawAuthority()
                            + callback.getRawPath() + ", not to broker d's /bff/callback");
                }
                s = c.send(
                        "GET",
                        callback.getRawPath() + "?" + callback.getRawQuery(),
                        null,
                        null,
                        "Cookie: " + LOGIN_COOKIE + "=" + login + "\r\n");
                String session = setCookie(c.response, SESSION_COOKIE);
                if (s != 302 || session == null || session.isEmpty()) {
                    throw new IOException("web login: GET /bff/callback answered " + s + " " + c.body());
                }
                sessions.add(session);
            }
        }
        return sessions;
    }

    /** The upstream's sign-in (it signs in at once): where it redirects to. */
    private static URI authorize(URI authorize) throws IOException {
        try (Http.Client up = Http.Client.of(authorize.getScheme() + "://" + authorize.getRawAuthority())) {
            int s = up.send("GET", authorize.getRawPath() + "?" + authorize.getRawQuery(), null, null, null);
            if (s != 302 || up.response.location == null) {
                throw new IOException("web login: the upstream's authorize answered " + s + " " + up.body());
            }
            return URI.create(up.response.location);
        }
    }

    /** The value of the named cookie an answer sets, or null. */
    private static String setCookie(Http.Message m, String name) {
        if (m == null || m.setCookies == null) {
            return null;
        }
        for (String c : m.setCookies) {
            if (c.startsWith(name + "=")) {
                int semi = c.indexOf(';');
                return c.substring(name.length() + 1, semi < 0 ? c.length() : semi);
            }
        }
        return null;
    }
}
