import java.util.List;

/** Every row the benchmark knows, in the order of the default run: a new row is one line here. */
final class Scenarios {
    static final List<Scenario> ALL = List.of(
            new FloorRow(),
            RefreshRow.oneBroker(),
            RefreshRow.twoReplicas(),
            new ReuseRow(),
            new ExchangeRow(),
            new RevokeKnownRow(),
            new RevokeUnknownRow(),
            new ApiRow(false, "1k"),
            new ApiRow(true, "1k"),
            new ApiRow(false, "100k"),
            new ApiRow(true, "100k"));

    private Scenarios() {}

    static List<String> names() {
        return ALL.stream().map(Scenario::name).toList();
    }

    static Scenario byName(String name) {
        for (Scenario s : ALL) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown op " + name + "; known: " + names());
    }
}
