import java.io.IOException;
import java.util.List;

/**
 * Refreshes its own sessions round robin, across one or more brokers (one connection to each), always presenting
 * the refresh_token of the session's latest answer (handles may rotate on every refresh and have any format).
 */
final class RefreshVu implements Vu {
    private final String clientId;
    private final Http.Client[] brokers;
    private final String[] handles;
    private final boolean[] dead;
    private int live;
    private long n;
    private Http.Client last;

    RefreshVu(Config cfg, String[] brokerUrls, List<String> owned) {
        clientId = cfg.clientId;
        brokers = new Http.Client[brokerUrls.length];
        for (int i = 0; i < brokerUrls.length; i++) {
            brokers[i] = Http.Client.of(brokerUrls[i]);
        }
        handles = owned.toArray(new String[0]);
        dead = new boolean[handles.length];
        live = handles.length;
    }

    @Override
    public int step() throws IOException {
        int i = (int) (n % handles.length);
        for (int k = 0; dead[i] && k < handles.length; k++) {
            i = (i + 1) % handles.length;
        }
        Http.Client c = brokers[(int) (n % brokers.length)];
        n++;
        last = c;
        int status = c.send(
                "POST",
                "/oauth2/token",
                Form.TYPE,
                Form.of("grant_type", "refresh_token", "client_id", clientId, "refresh_token", handles[i]),
                null);
        if (status == 200) {
            String next = Http.jsonString(c.body(), "refresh_token");
            if (next == null || next.isEmpty()) {
                throw new ProtocolError("refresh answer without refresh_token");
            }
            handles[i] = next; // the latest handle, always
        } else if (status == 400 || status == 401) {
            dead[i] = true; // invalid_grant: the session is gone; never presented again
            live--;
        }
        return status;
    }

    @Override
    public boolean exhausted() {
        return live <= 0;
    }

    @Override
    public String lastBody() {
        return last == null ? "" : last.body();
    }

    @Override
    public void close() {
        for (Http.Client c : brokers) {
            c.close();
        }
    }
}
