import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code Load upstream-check}: the upstream alone, driven by this loader: closed-loop refresh grants/s. */
final class UpstreamCheck {
    private UpstreamCheck() {}

    static void run(String url, int conns, double seconds) throws Exception {
        List<Vu> vus = new ArrayList<>();
        for (int i = 0; i < conns; i++) {
            vus.add(new RefreshGrantVu(url));
        }
        Phase.run(vus, Math.min(2, seconds), Phase.MAX_REQUESTS_PER_VU, null);
        long cpu0 = Proc.loaderCpuNanos();
        Phase.Result r = Phase.run(vus, seconds, Phase.MAX_REQUESTS_PER_VU, null);
        long cpu1 = Proc.loaderCpuNanos();
        Vu.closeAll(vus);
        System.out.printf(
                Locale.ROOT,
                "upstream alone, %d connections: %.0f refresh grants/s, non-2xx %d, "
                        + "loader CPU %.0f us/request, statuses %s%n",
                conns,
                r.requests / r.seconds,
                r.failed(),
                (cpu1 - cpu0) / 1000.0 / r.requests,
                r.statuses);
    }

    /** Refresh grants straight at the upstream, on a token from one code grant. */
    private static final class RefreshGrantVu extends OneConnectionVu {
        private String refreshToken;

        RefreshGrantVu(String url) throws IOException {
            super(url);
            byte[] codeGrant = Form.of("grant_type", "authorization_code", "code", "x");
            if (c.send("POST", "/connect/token", Form.TYPE, codeGrant, null) != 200) {
                throw new IOException("code grant failed");
            }
            refreshToken = Http.jsonString(c.body(), "refresh_token");
        }

        @Override
        public int step() throws IOException {
            int s = c.send(
                    "POST",
                    "/connect/token",
                    Form.TYPE,
                    Form.of("grant_type", "refresh_token", "refresh_token", refreshToken),
                    null);
            if (s == 200) {
                refreshToken = Http.jsonString(c.body(), "refresh_token");
            }
            return s;
        }
    }
}
