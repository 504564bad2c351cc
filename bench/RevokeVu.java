import java.io.IOException;
import java.util.List;

/** Revokes pre-created sessions (each handle once), or random unknown handles shaped like a real one. */
final class RevokeVu extends OneConnectionVu {
    private final String clientId;
    private final List<String> pool; // null: unknown handles
    private final String shape;
    private int next;

    /** Revokes each handle of {@code pool} once. */
    static RevokeVu known(Config cfg, String broker, List<String> pool) {
        return new RevokeVu(cfg, broker, pool, null);
    }

    /** Revokes random handles shaped like {@code realHandle}. */
    static RevokeVu unknown(Config cfg, String broker, String realHandle) {
        return new RevokeVu(cfg, broker, null, realHandle);
    }

    private RevokeVu(Config cfg, String broker, List<String> pool, String shape) {
        super(broker);
        clientId = cfg.clientId;
        this.pool = pool;
        this.shape = shape;
    }

    @Override
    public int step() throws IOException {
        String token = pool == null ? RandomText.shapedLike(shape) : pool.get(next++);
        return c.send("POST", "/oauth2/revoke", Form.TYPE, Form.of("client_id", clientId, "token", token), null);
    }

    @Override
    public boolean exhausted() {
        return pool != null && next >= pool.size();
    }
}
