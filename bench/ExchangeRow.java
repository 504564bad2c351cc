import java.util.ArrayList;
import java.util.List;

/** {@code exchange}: authorization_code grants at broker a, a fresh code and verifier each. */
final class ExchangeRow implements Scenario {
    static final String NAME = "exchange";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Setup prepare(Config cfg, Resp redis, int conns, List<Row> done) {
        List<Vu> vus = new ArrayList<>();
        for (int i = 0; i < conns; i++) {
            vus.add(new ExchangeVu(cfg, cfg.brokerA, null, 0));
        }
        return new Setup(vus, cfg.pidA);
    }
}
