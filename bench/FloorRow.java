import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** {@code floor}: the load generator does an upstream-bound refresh itself, no broker (see {@link FloorVu}). */
final class FloorRow implements Scenario {
    @Override
    public String name() {
        return "floor";
    }

    @Override
    public boolean brokerRow() {
        return false;
    }

    @Override
    public boolean upstreamBoundRefresh() {
        return true;
    }

    @Override
    public Setup prepare(Config cfg, Resp redis, int conns, List<Row> done) throws IOException {
        List<String> keys = createSessions(cfg, redis, conns * cfg.sessionsPerVu);
        List<Vu> vus = new ArrayList<>();
        for (int i = 0; i < conns; i++) {
            vus.add(new FloorVu(cfg, keys.subList(i * cfg.sessionsPerVu, (i + 1) * cfg.sessionsPerVu)));
        }
        return new Setup(vus);
    }

    /** Floor sessions: a hash per session holding an upstream refresh token from a code grant. */
    private static List<String> createSessions(Config cfg, Resp redis, int count) throws IOException {
        List<String> keys = new ArrayList<>(count);
        String run = RandomText.alnum(6);
        try (Http.Client up = Http.Client.of(cfg.upstream)) {
            for (int i = 0; i < count; i++) {
                int s = up.send(
                        "POST",
                        "/connect/token",
                        Form.TYPE,
                        Form.of(
                                "grant_type",
                                "authorization_code",
                                "code",
                                "floor-" + i,
                                "redirect_uri",
                                cfg.redirectUri,
                                "code_verifier",
                                RandomText.alnum(64)),
                        null);
                String rt = Http.jsonString(up.body(), "refresh_token");
                if (s != 200 || rt == null) {
                    throw new IOException("floor session setup: upstream answered " + s);
                }
                String key = "bench:floor:" + run + ":" + i;
                redis.call(
                        "HSET",
                        key,
                        "rt",
                        rt,
                        "client",
                        cfg.clientId,
                        "created",
                        Long.toString(System.currentTimeMillis()));
                keys.add(key);
            }
        }
        return keys;
    }
}
