package dev.tokenbroker.web;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import com.sun.net.httpserver.HttpServer;

import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.devmode.RedisServer;
import dev.tokenbroker.support.Broker;
import dev.tokenbroker.support.Chromium;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StoredSessions;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import okhttp3.mockwebserver.RecordedRequest;

import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The oidc-client-ts recipe of docs/apps.md in a real headless Chromium: a page on an allowed origin signs in at the
 * upstream's login form and gets its tokens from the broker (native mode, the broker's handle as refresh token),
 * refreshes twice with {@code signinSilent()}, and revokes. The page runs {@code src/test/resources/oidc-client-ts/app.js}
 * (the recipe, checked against the document) with the example origins replaced by this test's.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(
        value = MockUpstreamResource.class,
        initArgs = @ResourceArg(name = "interactive-login", value = "true"))
@WithTestResource(OidcClientTsBrowserTest.PageClient.class)
class OidcClientTsBrowserTest {

    static final String CLIENT_ID = "clover-web";
    /** What the client sends the upstream (client_secret_post, {@code broker.clients.web}): only the broker knows it. */
    static final String CLIENT_SECRET_PARAM = "client_secret=web-secret-4711";

    static WebDriver driver;
    static HttpServer pages;

    @Inject
    RedisDataSource redis;

    @Inject
    KeyRing keyRing;

    /**
     * The {@code clover-web} client of the test profile, made callable from a page: its redirect URI and origin on a
     * loopback port of the page, the broker on a port known in advance (the page must name it).
     */
    public static class PageClient implements QuarkusTestResourceLifecycleManager {

        static int brokerPort;
        static int appPort;

        @Override
        public Map<String, String> start() {
            brokerPort = RedisServer.freePort();
            appPort = RedisServer.freePort();
            return Map.of(
                    "quarkus.http.test-port",
                    Integer.toString(brokerPort),
                    "broker.clients.web.redirect-uris",
                    appOrigin() + "/callback",
                    "broker.clients.web.allowed-origins",
                    appOrigin(),
                    // The page refreshes back to back; within the reuse window (5 s by default) the second refresh
                    // would get the first one's answer again, by design, and rotate nothing.
                    "broker.session.refresh-reuse-window",
                    "0s");
        }

        @Override
        public void stop() {}

        static String brokerOrigin() {
            return "http://localhost:" + brokerPort;
        }

        static String appOrigin() {
            return "http://localhost:" + appPort;
        }
    }

    @BeforeAll
    static void startBrowserAndPage() throws Exception {
        pages = servePage(PageClient.appPort);
        driver = Chromium.start();
    }

    @AfterAll
    static void stop() {
        if (driver != null) {
            driver.quit();
        }
        if (pages != null) {
            pages.stop(0);
        }
    }

    @BeforeEach
    void forgetEarlierUpstreamRequests() {
        MockUpstreamResource.drainRecordedRequests();
    }

    @Test
    void signInRefreshesRotateTheHandleAtTheBrokerAndAfterRevocationTheHandleIsDead() {
        // mock-oauth2-server puts azp only into a code exchange's ID token; OIDC Core §12.2 wants a refreshed ID token
        // to keep the original's azp, and oidc-client-ts checks that. This login's tokens always carry it.
        MockUpstreamResource.server()
                .enqueueCallback(new DefaultOAuth2TokenCallback(
                        "connect", "alice", "JWT", List.of(CLIENT_ID), Map.of("azp", CLIENT_ID), 3600));
        driver.get(PageClient.appOrigin() + "/");
        assertNull(loaded().get("user"), "nobody signed in yet");

        // signinRedirect(): discovery at the upstream, then its login form, filled in as a person would.
        ((JavascriptExecutor) driver).executeScript("login();");
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(15));
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.name("username")))
                .sendKeys("alice");
        driver.findElement(By.cssSelector("input[type=submit]")).click();
        wait.until(ExpectedConditions.urlMatches("^" + PageClient.appOrigin() + "/"));
        Map<String, Object> signedIn = loaded();
        assertNull(signedIn.get("error"), signedIn.toString());
        @SuppressWarnings("unchecked")
        Map<String, Object> user = (Map<String, Object>) signedIn.get("user");
        assertNotNull(user, "signinRedirectCallback() gave a user");
        assertEquals("alice", user.get("sub"));
        assertEquals("/", user.get("path"), "the callback page dropped code and state from the address");
        String accessToken = (String) user.get("access_token");
        String handle = (String) user.get("refresh_token");
        assertNotNull(accessToken);
        String sessionId = StoredSessions.id(handle); // the page's refresh token is a broker handle
        assertEquals(CLIENT_ID, StoredSessions.of(redis, handle).get("client"), "the broker stored the session");
        List<RecordedRequest> signIn = upstreamRequests();
        assertEquals(
                List.of("authorization_code"),
                tokenRequests(signIn).stream()
                        .map(OidcClientTsBrowserTest::grantType)
                        .toList(),
                "one code exchange upstream");
        assertTrue(
                tokenRequests(signIn).stream()
                        .allMatch(r -> r.getHeader("Origin") == null
                                && r.getBody().clone().readUtf8().contains(CLIENT_SECRET_PARAM)),
                "made by the broker, not by the page");

        for (int i = 1; i <= 2; i++) {
            Map<String, Object> refreshed = inPage("""
                    const done = arguments[arguments.length - 1];
                    refresh().then(async u => done({access_token: u.access_token, refresh_token: u.refresh_token,
                                                    stored: (await auth.getUser()).refresh_token}))
                             .catch(e => done({error: e.error || String(e)}));""");
            assertNull(refreshed.get("error"), "refresh " + i + ": " + refreshed);
            String newAccessToken = (String) refreshed.get("access_token");
            String newHandle = (String) refreshed.get("refresh_token");
            assertNotEquals(accessToken, newAccessToken, "refresh " + i + " gave a new access token");
            assertNotEquals(handle, newHandle, "refresh " + i + " rotated the handle");
            assertEquals(sessionId, StoredSessions.id(newHandle), "of the same broker session");
            assertEquals(
                    newHandle, refreshed.get("stored"), "oidc-client-ts stored the new handle in place of the old");
            assertEquals(
                    List.of("refresh_token"),
                    tokenRequests(upstreamRequests()).stream()
                            .map(OidcClientTsBrowserTest::grantType)
                            .toList(),
                    "refresh " + i + " went through the broker to the upstream, once");
            accessToken = newAccessToken;
            handle = newHandle;
        }

        Map<String, Object> api =
                inPage("""
                const done = arguments[arguments.length - 1];
                api(arguments[0]).then(r => r.text().then(t => done({status: r.status, body: t})))
                                 .catch(e => done({error: String(e)}));""", MockUpstreamResource.server().userInfoUrl("connect").toString());
        assertEquals(200L, api.get("status"), "the refreshed access token works at the upstream: " + api);
        assertEquals("alice", JsonPath.from((String) api.get("body")).getString("sub"));

        String upstreamRefreshToken = StoredSessions.upstreamRefreshToken(redis, keyRing, handle);
        MockUpstreamResource.drainRecordedRequests();
        Map<String, Object> loggedOut = inPage("""
                const done = arguments[arguments.length - 1];
                (async () => {
                  const before = await auth.getUser();
                  await logout();
                  const after = await auth.getUser();
                  // The page is handed its old user back, revoked handle and all, and refreshes with it.
                  await auth.storeUser(before);
                  let error = null;
                  try { await auth.signinSilent(); } catch (e) { error = e.error || String(e); }
                  const again = await refresh();
                  return {revoked: before.refresh_token, after, error, again, stored: await auth.getUser()};
                })().then(done, e => done({failed: e.error || String(e)}));""");
        assertNull(loggedOut.get("failed"), loggedOut.toString());
        assertEquals(handle, loggedOut.get("revoked"));
        assertNull(loggedOut.get("after"), "logout removed the user");
        assertEquals("invalid_grant", loggedOut.get("error"), "signinSilent() with the revoked handle");
        assertNull(loggedOut.get("again"), "the recipe's refresh() answers null: sign in again");
        assertNull(loggedOut.get("stored"), "and forgets the user");

        assertTrue(StoredSessions.of(redis, handle).isEmpty(), "the broker deleted the session");
        Broker.refresh(CLIENT_ID, handle).statusCode(400).body("error", equalTo("invalid_grant"));
        assertTrue(
                MockUpstreamResource.revokedRefreshTokens().contains(upstreamRefreshToken),
                "the broker revoked the upstream refresh token");
    }

    @Test
    void theRecipeInDocsAppsMdIsTheScriptThePageRuns() throws IOException {
        String doc = Files.readString(Path.of("docs/apps.md"));
        assertTrue(doc.contains("```js\n" + resource("app.js") + "```\n"), "docs/apps.md shows app.js verbatim");
    }

    /** What the current page load ended with ({@code index.html} sets it once {@code signedIn} settles). */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> loaded() {
        return (Map<String, Object>) new WebDriverWait(driver, Duration.ofSeconds(15))
                .until(d -> ((JavascriptExecutor) d).executeScript("return window.loaded || null;"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> inPage(String script, Object... args) {
        return (Map<String, Object>) ((JavascriptExecutor) driver).executeAsyncScript(script, args);
    }

    /** Everything the upstream received since the last drain, until it has been quiet for half a second. */
    private static List<RecordedRequest> upstreamRequests() {
        List<RecordedRequest> requests = new ArrayList<>();
        for (RecordedRequest r = MockUpstreamResource.poll(500); r != null; r = MockUpstreamResource.poll(500)) {
            requests.add(r);
        }
        return requests;
    }

    private static List<RecordedRequest> tokenRequests(List<RecordedRequest> requests) {
        return requests.stream()
                .filter(r -> "POST".equals(r.getMethod()) && r.getPath().endsWith("/token"))
                .toList();
    }

    private static String grantType(RecordedRequest tokenRequest) {
        for (String pair : tokenRequest.getBody().clone().readUtf8().split("&")) {
            if (pair.startsWith("grant_type=")) {
                return pair.substring("grant_type=".length());
            }
        }
        return null;
    }

    /**
     * The page at every path of {@code http://localhost:<port>}, {@code /app.js} with the recipe's example origins
     * replaced by the broker's, the upstream's and the page's, and the library from the test resources.
     */
    private static HttpServer servePage(int port) throws IOException {
        String upstream =
                MockUpstreamResource.server().issuerUrl("connect").toString().replaceAll("/$", "");
        String app = resource("app.js")
                .replace("https://tokens.example.com", PageClient.brokerOrigin())
                .replace("https://login.example.com", upstream)
                .replace("https://app.example", PageClient.appOrigin());
        byte[] script = app.getBytes(StandardCharsets.UTF_8);
        byte[] library = resource("oidc-client-ts.min.js").getBytes(StandardCharsets.UTF_8);
        byte[] page = resource("index.html").getBytes(StandardCharsets.UTF_8);
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            byte[] body = path.equals("/app.js") ? script : path.equals("/oidc-client-ts.min.js") ? library : page;
            exchange.getResponseHeaders()
                    .set("Content-Type", body == page ? "text/html; charset=utf-8" : "text/javascript; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return server;
    }

    private static String resource(String name) {
        try (InputStream in = OidcClientTsBrowserTest.class.getResourceAsStream("/oidc-client-ts/" + name)) {
            if (in == null) {
                throw new IllegalStateException("no test resource oidc-client-ts/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
