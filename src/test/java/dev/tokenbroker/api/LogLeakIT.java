package dev.tokenbroker.api;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.LogScan;

/**
 * Runs after all unit and {@code @QuarkusTest} classes (failsafe, integration-test phase) and scans everything
 * they logged at TRACE: real mock-oauth2-server JWTs, Redis outages, concurrent refreshes, every error row.
 */
class LogLeakIT {

    @Test
    void nothingAnyTestLoggedContainsTokenMaterial() throws Exception {
        LogScan.assertClean(LogScan.read(), List.of());
    }
}
