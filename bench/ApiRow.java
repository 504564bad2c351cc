import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code api-direct-1k}, {@code api-direct-100k}: GETs straight at the bench API with an upstream access token, no
 * broker; {@code api-proxy-1k}, {@code api-proxy-100k}: the same through broker d's API proxy with a web session.
 * A proxy row is compared with the direct row of its size (the note, and the lines under the table).
 */
final class ApiRow implements Scenario {
    private final boolean proxied;
    private final String size; // "1k" or "100k": the API's path and the size it answers with

    ApiRow(boolean proxied, String size) {
        this.proxied = proxied;
        this.size = size;
    }

    @Override
    public String name() {
        return (proxied ? "api-proxy-" : "api-direct-") + size;
    }

    boolean proxied() {
        return proxied;
    }

    String size() {
        return size;
    }

    /** The row a proxy row is compared with. */
    String directName() {
        return "api-direct-" + size;
    }

    @Override
    public void checkConfig(Config cfg) {
        if (cfg.api == null) {
            throw new IllegalArgumentException(name() + " needs api=URL (bench/Api.java)");
        }
        if (proxied && cfg.brokerD == null) {
            throw new IllegalArgumentException(name() + " needs broker-d=URL (a web-mode broker with the API proxy)");
        }
    }

    @Override
    public boolean brokerRow() {
        return proxied;
    }

    @Override
    public boolean apiRow() {
        return true;
    }

    @Override
    public Setup prepare(Config cfg, Resp redis, int conns, List<Row> done) throws IOException {
        List<Vu> vus = new ArrayList<>();
        if (!proxied) {
            for (int i = 0; i < conns; i++) {
                vus.add(ApiVu.direct(cfg, size, upstreamAccessToken(cfg)));
            }
            return new Setup(vus).note("no broker: bearer token straight to the API");
        }
        List<String> sessions = WebLogins.create(cfg, conns);
        for (int i = 0; i < conns; i++) {
            vus.add(ApiVu.proxied(cfg, size, sessions.get(i)));
        }
        return new Setup(vus, cfg.pidD).note("1 web session per VU");
    }

    /** An access token straight from the upstream (a code grant), as a page that holds its own token would have. */
    private static String upstreamAccessToken(Config cfg) throws IOException {
        try (Http.Client up = Http.Client.of(cfg.upstream)) {
            int s = up.send(
                    "POST",
                    "/connect/token",
                    Form.TYPE,
                    Form.of(
                            "grant_type",
                            "authorization_code",
                            "code",
                            "api-direct-" + RandomText.alnum(8),
                            "redirect_uri",
                            cfg.redirectUri,
                            "code_verifier",
                            RandomText.alnum(64)),
                    null);
            String at = Http.jsonString(up.body(), "access_token");
            if (s != 200 || at == null) {
                throw new IOException("access token for the direct API rows: the upstream answered " + s);
            }
            return at;
        }
    }
}
