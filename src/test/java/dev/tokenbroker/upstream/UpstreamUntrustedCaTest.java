package dev.tokenbroker.upstream;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.LogScan;
import dev.tokenbroker.support.Management;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.TlsUpstreamResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;

import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The same upstream behind a company CA ({@link TlsUpstreamResource}) without {@code broker.upstream.trust-certificates}:
 * the JVM's trust store refuses its certificate, so the broker stays not ready, tells the operator which setting
 * fixes it, and answers front ends with a 502, never with a token.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(value = TlsUpstreamResource.class, initArgs = @ResourceArg(name = "trust", value = "false"))
class UpstreamUntrustedCaTest {

    @Test
    void withoutTheCompanyCaTheBrokerIsNotReadyAndSaysWhichSettingIsMissing() {
        Await.until(
                "the broker tries the upstream, through the proxy",
                Duration.ofSeconds(20),
                () -> TlsUpstreamResource.proxy().tunnels().stream()
                        .anyMatch(t -> t.startsWith(TlsUpstreamResource.HOST + ":")));
        Await.until(
                "the failed discovery is logged",
                Duration.ofSeconds(10),
                () -> log().contains("list that CA in broker.upstream.trust-certificates"));
        Management.onManagementPort().get("/q/health/ready").then().statusCode(503);
        Broker.exchange(Broker.MOBILE, "any-code", Broker.MOBILE_REDIRECT, Broker.VERIFIER)
                .statusCode(502)
                .body("error", equalTo("temporarily_unavailable"));
        assertFalse(log().contains(TlsUpstreamResource.PROXY_PASSWORD), "the proxy's password is never logged");
    }

    private static String log() {
        try {
            return LogScan.read();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
