import java.util.ArrayList;
import java.util.List;

/**
 * {@code refresh-reuse}: refreshes at broker b (reuse window 1h). One session per VU: with rotating handles, VUs
 * sharing a session would present handles another VU has already replaced.
 */
final class ReuseRow implements Scenario {
    @Override
    public String name() {
        return "refresh-reuse";
    }

    @Override
    public Setup prepare(Config cfg, Resp redis, int conns, List<Row> done) throws Exception {
        List<String> handles = Sessions.create(cfg, cfg.brokerB, conns);
        List<Vu> vus = new ArrayList<>();
        for (int i = 0; i < conns; i++) {
            vus.add(new RefreshVu(cfg, new String[] {cfg.brokerB}, handles.subList(i, i + 1)));
        }
        return new Setup(vus, cfg.pidB).note("1 session per VU, window 1h");
    }
}
