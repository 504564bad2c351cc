import java.io.IOException;
import java.util.List;

/** One virtual user: a phase calls step() until time or count runs out or it is exhausted. */
interface Vu extends AutoCloseable {
    /** One request; returns the HTTP status (for the floor: the upstream's). Throws on I/O or protocol error. */
    int step() throws IOException;

    /** Nothing left to do (revoke pool used up, or every owned session dead). */
    default boolean exhausted() {
        return false;
    }

    /** The body of the last answer, for error samples. */
    String lastBody();

    @Override
    void close();

    static void closeAll(List<? extends Vu> vus) {
        for (Vu v : vus) {
            v.close();
        }
    }

    /** An answer that arrived but is not what the request must get: counted apart from I/O errors. */
    final class ProtocolError extends IOException {
        private static final long serialVersionUID = 1L;

        ProtocolError(String m) {
            super(m);
        }
    }
}
