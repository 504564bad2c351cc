package dev.tokenbroker.api;

import java.net.URI;
import java.net.URL;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.support.AdminIssuerResource;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StoredSessions;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.ValidatableResponse;
import io.restassured.specification.RequestSpecification;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The session admin API on the management interface, with bearer tokens from a real OpenID provider: refuses what it
 * must, is not on the public port, lists metadata only and ends sessions (upstream revocation included).
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
@WithTestResource(AdminIssuerResource.class)
class AdminApiTest {

    @TestHTTPResource(value = "/", management = true)
    URL management;

    @Inject
    RedisDataSource redis;

    private RequestSpecification admin(String token) {
        RequestSpecification spec =
                given().baseUri(URI.create(management.toString()).resolve("/").toString());
        return token == null ? spec : spec.header("Authorization", "Bearer " + token);
    }

    private static String adminToken() {
        return AdminIssuerResource.token(
                "alice", AdminIssuerResource.AUDIENCE, Map.of("scope", AdminIssuerResource.SCOPE), 60);
    }

    @Test
    void refusesMissingExpiredForeignWrongAudienceAndWrongScopeTokens() {
        admin(null)
                .get("/admin/sessions?sub=x")
                .then()
                .statusCode(401)
                .body("error", equalTo("invalid_token"))
                .header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        admin("not-a-jwt").get("/admin/sessions?sub=x").then().statusCode(401);
        admin(AdminIssuerResource.token(
                        "alice", AdminIssuerResource.AUDIENCE, Map.of("scope", AdminIssuerResource.SCOPE), -120))
                .get("/admin/sessions?sub=x")
                .then()
                .statusCode(401);
        admin(AdminIssuerResource.token("alice", "another-api", Map.of("scope", AdminIssuerResource.SCOPE), 60))
                .get("/admin/sessions?sub=x")
                .then()
                .statusCode(401);
        admin(AdminIssuerResource.foreignToken("alice"))
                .get("/admin/sessions?sub=x")
                .then()
                .statusCode(401);
        admin(AdminIssuerResource.token("alice", AdminIssuerResource.AUDIENCE, Map.of("scope", "openid profile"), 60))
                .delete("/admin/sessions?sub=x")
                .then()
                .statusCode(403)
                .body("error", equalTo("insufficient_scope"));
        admin(AdminIssuerResource.token("alice", AdminIssuerResource.AUDIENCE, Map.of(), 60))
                .delete("/admin/sessions/abc")
                .then()
                .statusCode(403);
        // a role works as well as a scope
        admin(AdminIssuerResource.token(
                        "alice", AdminIssuerResource.AUDIENCE, Map.of("roles", List.of(AdminIssuerResource.SCOPE)), 60))
                .get("/admin/sessions?sub=x")
                .then()
                .statusCode(200);
    }

    @Test
    void isNotReachableOnThePublicPort() {
        given().header("Authorization", "Bearer " + adminToken())
                .get("/admin/sessions?sub=x")
                .then()
                .statusCode(404);
        given().header("Authorization", "Bearer " + adminToken())
                .delete("/admin/sessions?sub=x")
                .then()
                .statusCode(org.hamcrest.Matchers.anyOf(equalTo(404), equalTo(405)));
    }

    @Test
    void listsMetadataOnlyAndEndsOneOrAllSessionsOfAUser() throws Exception {
        String user = "user-" + UUID.randomUUID();
        String mobile1 = session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user);
        String mobile2 = session(Broker.MOBILE, Broker.MOBILE_REDIRECT, user);
        String web = session(Broker.WEB, "https://app.example/callback", user);
        String other = session(Broker.MOBILE, Broker.MOBILE_REDIRECT, "user-" + UUID.randomUUID());

        ValidatableResponse listed = admin(adminToken())
                .get("/admin/sessions?sub=" + user)
                .then()
                .statusCode(200)
                .header("Cache-Control", "no-store")
                .body("sessions", hasSize(3));
        String body = listed.extract().asString();
        for (String handle : List.of(mobile1, mobile2, web)) {
            assertTrue(body.contains(StoredSessions.id(handle)), "lists the session id");
            assertFalse(body.contains(handle), "never a handle");
        }
        // No refresh-token member; a bare "rt" would also match random session ids (one CI run had "...prtT").
        assertFalse(body.contains("\"rt\""), body);
        listed.body("sessions[0].client_id", equalTo(Broker.MOBILE)).body("sessions[0].dpop_bound", equalTo(false));
        admin(adminToken())
                .get("/admin/sessions?sub=" + user + "&client=" + Broker.WEB)
                .then()
                .statusCode(200)
                .body("sessions", hasSize(1))
                .body("sessions[0].session_id", equalTo(StoredSessions.id(web)));
        admin(adminToken())
                .get("/admin/sessions?sub=" + user + "&client=nobody")
                .then()
                .statusCode(400);
        admin(adminToken()).get("/admin/sessions").then().statusCode(400).body("error", equalTo("invalid_request"));

        admin(adminToken())
                .delete("/admin/sessions/" + StoredSessions.id(mobile1))
                .then()
                .statusCode(200)
                .body("sessions_ended", equalTo(1));
        admin(adminToken())
                .delete("/admin/sessions/" + StoredSessions.id(mobile1))
                .then()
                .statusCode(404);
        Broker.refresh(Broker.MOBILE, mobile1).statusCode(400).body("error", equalTo("invalid_grant"));
        Broker.refresh(Broker.MOBILE, mobile2).statusCode(200);

        admin(adminToken())
                .delete("/admin/sessions?sub=" + user)
                .then()
                .statusCode(200)
                .body("sessions_ended", equalTo(2));
        Broker.refresh(Broker.WEB, web).statusCode(400).body("error", equalTo("invalid_grant"));
        assertEquals(200, Broker.refresh(Broker.MOBILE, other).extract().statusCode(), "another user's session lives");
        admin(adminToken())
                .get("/admin/sessions?sub=" + user)
                .then()
                .statusCode(200)
                .body("sessions", hasSize(0));
    }

    private String session(String clientId, String redirectUri, String subject) throws Exception {
        String handle = MockUpstreamResource.signIn(clientId, redirectUri, subject, Map.of());
        assertFalse(StoredSessions.of(redis, handle).isEmpty());
        return handle;
    }
}
