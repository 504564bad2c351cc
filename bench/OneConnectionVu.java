/** A virtual user with one keep-alive connection of its own: the last answer's body and closing come from it. */
abstract class OneConnectionVu implements Vu {
    protected final Http.Client c;

    OneConnectionVu(String base) {
        c = Http.Client.of(base);
    }

    @Override
    public String lastBody() {
        return c.body();
    }

    @Override
    public void close() {
        c.close();
    }
}
