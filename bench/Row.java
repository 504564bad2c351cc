/** One measured row of the table: a scenario at one connection count, in the closed loop or the open model. */
final class Row {
    final Scenario scenario;
    final String op; // the scenario's name, with "@open" for the open model
    final int conns;
    final boolean openModel;
    final Phase.Result result;
    final Meter meter;
    String rss = "-"; // MB of the serving broker(s) right after the row, "a+c" for two
    double floorRps = Double.NaN; // the floor's req/s at the same connection count
    String note = "";
    Row open; // the same row in the open model (BENCH_OPEN_MODEL), or null

    Row(Scenario scenario, int conns, boolean openModel, Phase.Result result, Meter meter) {
        this.scenario = scenario;
        this.op = openModel ? scenario.name() + "@open" : scenario.name();
        this.conns = conns;
        this.openModel = openModel;
        this.result = result;
        this.meter = meter;
    }

    /** The closed-loop floor row, which the others' %floor refers to. */
    boolean floorRow() {
        return scenario instanceof FloorRow && !openModel;
    }

    double rps() {
        return result.perSecond();
    }

    double pct(double p) {
        return result.percentileMs(p);
    }
}
