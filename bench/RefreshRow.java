import java.util.ArrayList;
import java.util.List;

/**
 * {@code refresh-upstream}: refreshes at broker a (reuse window 0s), so every refresh goes upstream;
 * {@code refresh-2-replicas}: the same, each VU alternating between broker a and its replica c.
 */
final class RefreshRow implements Scenario {
    private final boolean twoReplicas;

    private RefreshRow(boolean twoReplicas) {
        this.twoReplicas = twoReplicas;
    }

    static RefreshRow oneBroker() {
        return new RefreshRow(false);
    }

    static RefreshRow twoReplicas() {
        return new RefreshRow(true);
    }

    @Override
    public String name() {
        return twoReplicas ? "refresh-2-replicas" : "refresh-upstream";
    }

    @Override
    public boolean upstreamBoundRefresh() {
        return true;
    }

    @Override
    public Setup prepare(Config cfg, Resp redis, int conns, List<Row> done) throws Exception {
        String[] brokers = twoReplicas ? new String[] {cfg.brokerA, cfg.brokerC} : new String[] {cfg.brokerA};
        long[] pids = twoReplicas ? new long[] {cfg.pidA, cfg.pidC} : new long[] {cfg.pidA};
        List<String> handles = Sessions.create(cfg, cfg.brokerA, conns * cfg.sessionsPerVu);
        List<Vu> vus = new ArrayList<>();
        for (int i = 0; i < conns; i++) {
            vus.add(new RefreshVu(cfg, brokers, handles.subList(i * cfg.sessionsPerVu, (i + 1) * cfg.sessionsPerVu)));
        }
        return new Setup(vus, pids).note(twoReplicas ? "requests alternate A,C" : "");
    }
}
