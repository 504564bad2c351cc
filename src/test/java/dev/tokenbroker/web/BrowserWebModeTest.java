package dev.tokenbroker.web;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import dev.tokenbroker.support.Chromium;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StaticPages;
import dev.tokenbroker.support.WebClientResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import okhttp3.mockwebserver.RecordedRequest;

import static dev.tokenbroker.support.WebLogin.LOGIN_COOKIE;
import static dev.tokenbroker.support.WebLogin.SESSION_COOKIE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Web mode in a real headless Chromium: a person signs in at the upstream's login form, an SPA on its own origin
 * (another port) uses {@code /bff/*} with credentials, and a page on a third origin tries what an attacker would.
 * Chromium treats {@code http://localhost} as a secure context, so it stores {@code Secure} and {@code __Host-}
 * cookies there (the first test proves it by finding them).
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(
        value = MockUpstreamResource.class,
        initArgs = @ResourceArg(name = "interactive-login", value = "true"))
@WithTestResource(WebClientResource.class)
class BrowserWebModeTest {

    static WebDriver driver;
    static StaticPages app;
    static StaticPages evil;
    static final HttpClient CURL = HttpClient.newHttpClient();

    @BeforeAll
    static void startBrowserAndPages() throws Exception {
        app = StaticPages.serve(WebClientResource.appPort(), "<!doctype html><title>app</title><h1>the SPA</h1>");
        evil = StaticPages.serve(
                WebClientResource.evilPort(), "<!doctype html><title>evil</title><h1>another site's page</h1>");
        driver = Chromium.start();
    }

    @AfterAll
    static void stop() {
        if (driver != null) {
            driver.quit();
        }
        app.close();
        evil.close();
    }

    @BeforeEach
    void signedOut() {
        driver.get(WebClientResource.appOrigin() + "/");
        // Cookies are per host, not per port: this clears the broker's cookies too.
        driver.manage().deleteAllCookies();
        while (MockUpstreamResource.poll(1) != null) {
            // discard what earlier tests sent
        }
    }

    @Test
    void signInAtTheUpstreamFormGivesAnHttpOnlyHostCookieThatScriptCannotSeeAndTheSpaGetsAndUsesAToken() {
        signIn("alice");
        assertEquals(WebClientResource.appOrigin() + "/", driver.getCurrentUrl());

        Cookie session = driver.manage().getCookieNamed(SESSION_COOKIE);
        assertNotNull(session, "Chromium stored the __Host- cookie set over http://localhost");
        assertTrue(session.isHttpOnly());
        assertTrue(session.isSecure());
        assertEquals("Strict", session.getSameSite());
        assertEquals("/", session.getPath());
        assertEquals("localhost", session.getDomain(), "host-only: no Domain attribute widened it");
        assertNull(driver.manage().getCookieNamed(LOGIN_COOKIE), "the login cookie is gone after the callback");
        String visible = (String) ((JavascriptExecutor) driver).executeScript("return document.cookie");
        assertFalse(visible.contains("tb-session"), visible);

        Map<String, Object> user = fetch("GET", "/bff/user", true);
        assertEquals(200L, user.get("status"), user.toString());
        assertEquals("alice", JsonPath.from((String) user.get("body")).getString("sub"));

        Map<String, Object> token = fetch("POST", "/bff/token", true);
        assertEquals(200L, token.get("status"), token.toString());
        String accessToken = JsonPath.from((String) token.get("body")).getString("access_token");
        // The SPA calls an API with it: the upstream's userinfo endpoint, which verifies it.
        Map<String, Object> api = asyncScript(
                """
                const done = arguments[arguments.length - 1];
                fetch(arguments[0], {headers: {Authorization: 'Bearer ' + arguments[1]}})
                  .then(r => r.text().then(t => done({status: r.status, body: t})))
                  .catch(e => done({error: String(e)}));""", MockUpstreamResource.server().userInfoUrl("connect").toString(), accessToken);
        assertEquals(200L, api.get("status"), api.toString());
        assertEquals("alice", JsonPath.from((String) api.get("body")).getString("sub"));
    }

    @Test
    void aPageOnAnotherOriginCanNeitherReadTheUserNorGetATokenNorUseAPlainFormPost() throws Exception {
        signIn("bob");
        String cookie = driver.manage().getCookieNamed(SESSION_COOKIE).getValue();

        driver.get(WebClientResource.evilOrigin() + "/");
        // With the CSRF header: the preflight is refused, fetch fails.
        assertNotNull(fetch("GET", "/bff/user", true).get("error"));
        assertNotNull(fetch("POST", "/bff/token", true).get("error"));
        // Without it (no preflight): the broker refuses, and without CORS headers the page cannot read the answer.
        assertNotNull(fetch("GET", "/bff/user", false).get("error"));
        assertNotNull(fetch("POST", "/bff/token", false).get("error"));
        // A plain cross-site form POST (a navigation: cookies go along, SameSite does not stop a same-site page).
        for (String path : List.of("/bff/token", "/bff/logout")) {
            driver.get(WebClientResource.evilOrigin() + "/");
            ((JavascriptExecutor) driver).executeScript("""
                            const f = document.createElement('form');
                            f.method = 'POST'; f.action = arguments[0];
                            document.body.appendChild(f); f.submit();""", WebClientResource.brokerOrigin() + path);
            new WebDriverWait(driver, Duration.ofSeconds(10))
                    .until(ExpectedConditions.urlContains(WebClientResource.brokerOrigin()));
            String page = driver.getPageSource();
            assertTrue(page.contains("access_denied"), page);
            assertFalse(page.contains("access_token"), page);
        }
        // The session survived all of it.
        assertEquals(200, curl("GET", "/bff/user", cookie).statusCode());
    }

    @Test
    void forgedOrReplayedStateAndAForeignReturnToAreRefused() throws Exception {
        signIn("carol");
        String state = authorizeRequestState();

        driver.get(WebClientResource.brokerOrigin() + "/bff/callback?code=forged&state=" + "A".repeat(43));
        assertTrue(driver.getPageSource().contains("invalid_request"), driver.getPageSource());
        driver.get(WebClientResource.brokerOrigin() + "/bff/callback?code=replayed&state=" + state);
        assertTrue(driver.getPageSource().contains("invalid_request"), driver.getPageSource());

        driver.get(WebClientResource.brokerOrigin() + "/bff/login?return_to="
                + URLEncoder.encode("https://evil.example/", StandardCharsets.UTF_8));
        assertTrue(driver.getCurrentUrl().startsWith(WebClientResource.brokerOrigin()), driver.getCurrentUrl());
        assertTrue(driver.getPageSource().contains("return_to"), driver.getPageSource());
    }

    @Test
    void afterTheAccessTokenExpiresTheSpaGetsANewOneWithoutLoggingInAndLogoutKillsTheCookie() throws Exception {
        // Tokens of this login live 3 s (and so do their refreshes, in mock-oauth2-server).
        MockUpstreamResource.server()
                .enqueueCallback(new DefaultOAuth2TokenCallback(
                        "connect", "dave", "JWT", List.of(WebClientResource.CLIENT_ID), Map.of(), 3));
        signIn("dave");
        String before = driver.manage().getCookieNamed(SESSION_COOKIE).getValue();
        String first = accessToken();

        // Past the token's expiry and past broker.session.refresh-reuse-window (5 s).
        Thread.sleep(6_000);
        String second = accessToken();
        assertNotEquals(first, second, "a new access token");
        assertTrue(driver.getCurrentUrl().startsWith(WebClientResource.appOrigin()), "no new login");
        String after = driver.manage().getCookieNamed(SESSION_COOKIE).getValue();
        assertEquals(before, after, "a web session's cookie does not rotate");
        assertEquals(200L, fetch("GET", "/bff/user", true).get("status"));

        Map<String, Object> logout = fetch("POST", "/bff/logout", true);
        assertEquals(200L, logout.get("status"), logout.toString());
        String endSession = JsonPath.from((String) logout.get("body")).getString("end_session_url");
        assertTrue(endSession.contains("id_token_hint="), endSession);
        assertNull(driver.manage().getCookieNamed(SESSION_COOKIE), "logout cleared the cookie");
        assertEquals(401L, fetch("GET", "/bff/user", true).get("status"));

        // The copied cookie, replayed from outside the browser, is dead.
        assertEquals(401, curl("GET", "/bff/user", after).statusCode());
        assertEquals(401, curl("POST", "/bff/token", after).statusCode());
    }

    /** Types the user name into the upstream's login form, as a person would, and waits for the SPA. */
    private static void signIn(String user) {
        driver.get(WebClientResource.brokerOrigin() + "/bff/login?return_to="
                + URLEncoder.encode(WebClientResource.appOrigin() + "/", StandardCharsets.UTF_8));
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(15));
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.name("username")))
                .sendKeys(user);
        driver.findElement(By.cssSelector("input[type=submit]")).click();
        wait.until(ExpectedConditions.urlToBe(WebClientResource.appOrigin() + "/"));
    }

    private static String accessToken() {
        Map<String, Object> token = fetch("POST", "/bff/token", true);
        assertEquals(200L, token.get("status"), token.toString());
        return JsonPath.from((String) token.get("body")).getString("access_token");
    }

    /** fetch() from the page now open, with the browser's cookies; {@code error} when the browser blocked it. */
    private static Map<String, Object> fetch(String method, String path, boolean csrfHeader) {
        return asyncScript("""
                const done = arguments[arguments.length - 1];
                fetch(arguments[0], {method: arguments[1], credentials: 'include',
                                     headers: arguments[2] ? {'X-CSRF': '1'} : {}})
                  .then(r => r.text().then(t => done({status: r.status, body: t})))
                  .catch(e => done({error: String(e)}));""", WebClientResource.brokerOrigin() + path, method, csrfHeader);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asyncScript(String script, Object... args) {
        return (Map<String, Object>) ((JavascriptExecutor) driver).executeAsyncScript(script, args);
    }

    /** The state of the last authorization request the upstream saw. */
    private static String authorizeRequestState() {
        String state = null;
        for (RecordedRequest r = MockUpstreamResource.poll(1000); r != null; r = MockUpstreamResource.poll(200)) {
            if (r.getRequestUrl() != null && r.getRequestUrl().queryParameter("state") != null) {
                state = r.getRequestUrl().queryParameter("state");
            }
        }
        assertNotNull(state, "the upstream saw an authorization request");
        return state;
    }

    /** The cookie value replayed outside the browser, as curl would. */
    private static HttpResponse<String> curl(String method, String path, String cookie) throws Exception {
        return CURL.send(
                HttpRequest.newBuilder(URI.create(WebClientResource.brokerOrigin() + path))
                        .method(method, HttpRequest.BodyPublishers.noBody())
                        .header("Cookie", SESSION_COOKIE + "=" + cookie)
                        .header("X-CSRF", "1")
                        .header("Origin", WebClientResource.appOrigin())
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
