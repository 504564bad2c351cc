package dev.tokenbroker.support;

import org.eclipse.microprofile.config.ConfigProvider;

import io.restassured.specification.RequestSpecification;

import static io.restassured.RestAssured.given;

/** The management interface of the broker under test (health, metrics, admin API): not the public port. */
public final class Management {

    private Management() {}

    /** The management port's base URL; Quarkus picks the port at start in tests ({@code test-port=0}). */
    public static String url() {
        return "http://localhost:" + ConfigProvider.getConfig().getValue("quarkus.management.test-port", Integer.class);
    }

    /** A request to the management port. */
    public static RequestSpecification onManagementPort() {
        return given().baseUri(url());
    }

    /** The Prometheus page. */
    public static String metrics() {
        return onManagementPort()
                .get("/q/metrics")
                .then()
                .statusCode(200)
                .extract()
                .asString();
    }
}
