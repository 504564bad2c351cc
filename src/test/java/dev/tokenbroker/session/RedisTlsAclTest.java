package dev.tokenbroker.session;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.DuendeStubs;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.RedisTlsResource;
import dev.tokenbroker.support.WireMockUpstreamResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The broker on a Redis as managed services run it: TLS with a CA the JVM does not trust (a PEM trust certificate,
 * the host name checked) and an ACL user with README's least-privilege rules, the default user off. Every
 * token operation works, the broker's connections are that user's on the TLS port, and Redis refused no command.
 */
@QuarkusTest
@WithTestResource(RedisTlsResource.class)
@WithTestResource(WireMockUpstreamResource.class)
class RedisTlsAclTest {

    @Test
    void tokenFlowsRunOverTlsAsTheLeastPrivilegedAclUser() throws Exception {
        Management.onManagementPort().get("/q/health/ready").then().statusCode(200);
        DuendeStubs upstream = DuendeStubs.reset();
        upstream.upstreamIssuesTokens();
        upstream.upstreamRotatesRefreshToken(0);
        String handle = Broker.exchange(Broker.MOBILE, "CODE-tls", Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(200)
                .extract()
                .path("refresh_token");
        String rotated =
                Broker.refresh(Broker.MOBILE, handle).statusCode(200).extract().path("refresh_token");
        // The retired handle within its grace, then the session's end with its upstream revocation.
        Broker.refresh(Broker.MOBILE, handle).statusCode(200);
        Broker.revoke(Broker.MOBILE, rotated).statusCode(200);
        Broker.refresh(Broker.MOBILE, rotated).statusCode(400);

        String clients =
                (String) RedisTlsResource.node().callAs("admin", RedisTlsResource.ADMIN_PASSWORD, "CLIENT", "LIST");
        assertTrue(
                clients.lines()
                        .anyMatch(c -> c.contains("user=" + RedisTlsResource.USER)
                                && c.contains("laddr=127.0.0.1:" + RedisTlsResource.tlsPort())),
                "the broker connects as its ACL user on the TLS port:\n" + clients);
        assertFalse(
                clients.lines()
                        .anyMatch(c -> c.contains("user=" + RedisTlsResource.USER)
                                && !c.contains("laddr=127.0.0.1:" + RedisTlsResource.tlsPort())),
                "and never on the plain port:\n" + clients);
        Object refused = RedisTlsResource.node().callAs("admin", RedisTlsResource.ADMIN_PASSWORD, "ACL", "LOG");
        assertTrue(refused instanceof List<?> l && l.isEmpty(), "commands Redis refused: " + refused);
        String log = Files.readString(Path.of("target", "broker-test.log"));
        assertFalse(log.contains("NOPERM"), "no command of the broker was refused");
    }

    @Test
    void readmeGivesTheRulesThisTestRuns() throws Exception {
        assertTrue(Files.readString(Path.of("README.md"))
                .contains("\nACL SETUSER " + RedisTlsResource.USER + " reset on >PASSWORD "
                        + RedisTlsResource.BROKER_ACL + "\n"));
    }
}
