package dev.tokenbroker.fuzz;

/**
 * One generated request. {@code upstream} says what the generator knows: {@link Upstream#EXPECTED} for a valid code
 * exchange (one upstream call, 200), {@link Upstream#NEVER} for a request that is invalid by construction (or cannot
 * reach the upstream, such as a refresh with a random handle), {@link Upstream#IF_VALID} for mutated bytes whose
 * validity the generator does not know: an upstream call is allowed only if what reached the upstream was valid.
 * {@code mayStall} marks requests the server may rightly wait on forever (a body shorter than its length).
 */
// The bytes of a generated request: never compared or hashed as a record.
@SuppressWarnings("ArrayRecordComponent")
record FuzzCase(
        String family, byte[] bytes, Upstream upstream, boolean mayStall, int slices, int pauseMillis, String code) {

    FuzzCase(String family, byte[] bytes, Upstream upstream, boolean mayStall, int slices, int pauseMillis) {
        this(family, bytes, upstream, mayStall, slices, pauseMillis, null);
    }

    enum Upstream {
        EXPECTED,
        NEVER,
        IF_VALID
    }

    FuzzCase slow(int slices, int pauseMillis) {
        return new FuzzCase(family + "+slow", bytes, upstream, mayStall, slices, pauseMillis, code);
    }

    /** The unique {@code code} of the exchange this case was made from, by which upstream calls are matched to it. */
    FuzzCase withCode(String code) {
        return new FuzzCase(family, bytes, upstream, mayStall, slices, pauseMillis, code);
    }
}
