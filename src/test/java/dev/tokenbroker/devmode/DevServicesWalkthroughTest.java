package dev.tokenbroker.devmode;

import java.net.URI;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The dev-mode banner promises only what happens, and its curl lines print one answer per line (issue 11),
 * and it names the management port for health and metrics (issue 7). */
class DevServicesWalkthroughTest {

    @Test
    void bannerDescribesTheDevUpstreamAndEndsEachCurlAnswerWithANewline() throws Exception {
        String banner = DevServices.walkthrough(
                "http://localhost:8080",
                "http://localhost:9000",
                URI.create("http://127.0.0.1:18090/connect"),
                "dev-client",
                "http://localhost:8080/dev/callback",
                "redis://127.0.0.1:16379 (a redis-server process: /usr/bin/redis-server)");

        assertFalse(banner.contains("signs you in at once"), "the dev upstream shows a login form: " + banner);
        assertTrue(banner.contains("login form takes any user name"), banner);
        assertTrue(banner.contains("-d username=dev"), "the curl line fills in the login form: " + banner);
        banner.lines()
                .filter(l -> l.contains("curl -s ") && l.contains("/oauth2/token"))
                .forEach(l -> assertTrue(l.contains("-w '\\n'"), l));
        assertTrue(banner.contains("-Dquarkus.http.host=0.0.0.0"), banner);
        // Health and metrics live on the management interface, not on the API's port.
        assertTrue(banner.contains("http://localhost:9000/q/metrics"), banner);
        assertTrue(banner.contains("http://localhost:9000/q/health"), banner);
        assertFalse(banner.contains("http://localhost:8080/q/metrics"), banner);
        // Which Redis it started, in one line.
        assertTrue(banner.contains("dev Redis      redis://127.0.0.1:16379 (a redis-server process: "), banner);
    }
}
