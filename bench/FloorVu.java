import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/**
 * The floor: what any broker must at least do per upstream-bound refresh, done by the load generator itself
 * with no framework: HGETALL the session hash, POST the refresh to the upstream (Basic auth), HSET the new
 * refresh token and access token. Own RESP socket and own upstream connection per virtual user.
 */
final class FloorVu implements Vu {
    private final Resp redis;
    private final Http.Client up;
    private final String[] keys;
    private final String auth;
    private long n;

    FloorVu(Config cfg, List<String> keys) throws IOException {
        redis = new Resp(cfg.redisPort);
        up = Http.Client.of(cfg.upstream);
        this.keys = keys.toArray(new String[0]);
        auth = "Authorization: Basic "
                + Base64.getEncoder()
                        .encodeToString((Http.enc(cfg.clientId) + ":" + Http.enc(cfg.clientSecret))
                                .getBytes(StandardCharsets.UTF_8))
                + "\r\n";
    }

    @Override
    @SuppressWarnings("unchecked")
    public int step() throws IOException {
        String key = keys[(int) (n++ % keys.length)];
        List<Object> fields = (List<Object>) redis.call("HGETALL", key);
        String rt = null;
        for (int i = 0; fields != null && i + 1 < fields.size(); i += 2) {
            if ("rt".equals(fields.get(i))) {
                rt = (String) fields.get(i + 1);
            }
        }
        if (rt == null) {
            throw new ProtocolError("floor session " + key + " has no rt");
        }
        int status = up.send(
                "POST", "/connect/token", Form.TYPE, Form.of("grant_type", "refresh_token", "refresh_token", rt), auth);
        if (status == 200) {
            String body = up.body();
            String next = Http.jsonString(body, "refresh_token");
            String at = Http.jsonString(body, "access_token");
            if (next == null || at == null) {
                throw new ProtocolError("upstream answer without tokens");
            }
            redis.call("HSET", key, "rt", next, "at", at, "refreshed", Long.toString(System.currentTimeMillis()));
        }
        return status;
    }

    @Override
    public String lastBody() {
        return up.body();
    }

    @Override
    public void close() {
        try {
            redis.close();
        } catch (IOException ignored) {
            // closing
        }
        up.close();
    }
}
