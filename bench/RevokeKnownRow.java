import java.util.ArrayList;
import java.util.List;

/**
 * {@code revoke-known}: revokes live sessions at broker a, each handle once. The pool is sized from the exchange
 * row's rate at the same connection count; when it runs out the row ends early and its note says so.
 */
final class RevokeKnownRow implements Scenario {
    @Override
    public String name() {
        return "revoke-known";
    }

    /** Its sessions are used up by the closed loop. */
    @Override
    public boolean hasOpenModel() {
        return false;
    }

    @Override
    public Setup prepare(Config cfg, Resp redis, int conns, List<Row> done) throws Exception {
        double exchangeRps = done.stream()
                .filter(x -> x.op.equals(ExchangeRow.NAME) && x.conns == conns)
                .mapToDouble(Row::rps)
                .findFirst()
                .orElse(500);
        double warmup = Math.min(cfg.warmup, 2);
        int total = (int) Math.min(200_000, Math.max(conns * 20L, (long)
                Math.ceil(exchangeRps * cfg.revokePoolFactor * (warmup + cfg.measure))));
        int per = Math.max(1, total / conns);
        Load.log("revoke-known c=" + conns + ": pre-creating " + (per * conns) + " sessions");
        List<String> handles = Sessions.create(cfg, cfg.brokerA, per * conns);
        List<Vu> vus = new ArrayList<>();
        for (int i = 0; i < conns; i++) {
            vus.add(RevokeVu.known(cfg, cfg.brokerA, handles.subList(i * per, (i + 1) * per)));
        }
        Setup setup = new Setup(vus, cfg.pidA);
        setup.maxWarmupSeconds = warmup;
        setup.warmupRequestsPerVu = Math.max(1, per / 5); // warm-up uses at most a fifth of each VU's sessions
        return setup;
    }
}
