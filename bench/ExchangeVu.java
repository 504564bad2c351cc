import java.io.IOException;
import java.util.List;

/** Code exchange with a fresh code and verifier each time; optionally keeps the handles. */
class ExchangeVu extends OneConnectionVu {
    private final Config cfg;
    private final List<String> collected;
    private final long limit;

    /** {@code collect}: where to add each new handle (null: nowhere), until it holds {@code limit}. */
    ExchangeVu(Config cfg, String broker, List<String> collect, long limit) {
        super(broker);
        this.cfg = cfg;
        collected = collect;
        this.limit = limit;
    }

    @Override
    public int step() throws IOException {
        int status = c.send(
                "POST",
                "/oauth2/token",
                Form.TYPE,
                Form.of(
                        "grant_type",
                        "authorization_code",
                        "client_id",
                        cfg.clientId,
                        "code",
                        "bench-code-" + RandomText.alnum(24),
                        "redirect_uri",
                        cfg.redirectUri,
                        "code_verifier",
                        RandomText.alnum(64)),
                null);
        if (status == 200) {
            String h = Http.jsonString(c.body(), "refresh_token");
            if (h == null || h.isEmpty()) {
                throw new ProtocolError("exchange answer without refresh_token");
            }
            if (collected != null) {
                collected.add(h);
            }
        }
        return status;
    }

    @Override
    public boolean exhausted() {
        return collected != null && collected.size() >= limit;
    }
}
