import java.util.ArrayList;
import java.util.List;

/** {@code revoke-unknown}: revokes well-formed unknown handles at broker a, shaped like one real handle. */
final class RevokeUnknownRow implements Scenario {
    @Override
    public String name() {
        return "revoke-unknown";
    }

    @Override
    public Setup prepare(Config cfg, Resp redis, int conns, List<Row> done) throws Exception {
        String shape = Sessions.create(cfg, cfg.brokerA, 1).get(0);
        List<Vu> vus = new ArrayList<>();
        for (int i = 0; i < conns; i++) {
            vus.add(RevokeVu.unknown(cfg, cfg.brokerA, shape));
        }
        return new Setup(vus, cfg.pidA).note("random handles shaped like a real one");
    }
}
