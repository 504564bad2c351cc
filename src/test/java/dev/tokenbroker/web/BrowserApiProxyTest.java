package dev.tokenbroker.web;

import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import dev.tokenbroker.support.ApiStubResource;
import dev.tokenbroker.support.Chromium;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StaticPages;
import dev.tokenbroker.support.WebClientResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;

import static dev.tokenbroker.support.WebLogin.SESSION_COOKIE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The BFF's API proxy in a real headless Chromium: an SPA on its own origin signs in at the upstream's login form and
 * calls its API only through {@code /bff/api/orders/…} with {@code credentials: 'include'} and {@code X-CSRF: 1}; the
 * broker attaches the access token, and no script on the page can obtain it. The page
 * ({@code src/test/resources/bff-api-proxy/index.html}) records every answer its scripts could read; the test knows the
 * tokens the API received from the API itself ({@link ApiStubResource#helloAuthorizations()}), never from the page,
 * and looks for them in what the page read. The same page served on another origin gets nothing through the proxy.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(
        value = MockUpstreamResource.class,
        initArgs = @ResourceArg(name = "interactive-login", value = "true"))
@WithTestResource(WebClientResource.class)
@WithTestResource(ApiStubResource.class)
class BrowserApiProxyTest {

    /** A JWT anywhere in a text: header and payload are base64url of JSON objects. */
    private static final Pattern JWT = Pattern.compile("eyJ[A-Za-z0-9_-]*\\.eyJ[A-Za-z0-9_-]*");

    static WebDriver driver;
    static StaticPages app;
    static StaticPages evil;

    @BeforeAll
    static void startBrowserAndPages() throws Exception {
        String page;
        try (InputStream in = BrowserApiProxyTest.class.getResourceAsStream("/bff-api-proxy/index.html")) {
            page = new String(in.readAllBytes(), StandardCharsets.UTF_8)
                    .replace("BROKER_ORIGIN", WebClientResource.brokerOrigin());
        }
        app = StaticPages.serve(WebClientResource.appPort(), page);
        // The attacker copies the SPA's page to its own origin: same script, another Origin.
        evil = StaticPages.serve(WebClientResource.evilPort(), page);
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
        ApiStubResource.forgetHelloAuthorizations();
    }

    @Test
    void theSpaReachesItsApiThroughTheProxyWhichAttachesTheSessionsTokenAndSeesTheAnswers() throws Exception {
        signIn("alice");

        Map<String, Object> get = bff("GET", "/api/orders/echo?status=open&page=2", null);
        assertEquals(200L, get.get("status"), get.toString());
        assertEquals("token-broker; received-status=200", get.get("proxyStatus"), "an exposed header the page reads");
        assertEquals("\"v1\"", get.get("etag"));
        JsonPath echo = JsonPath.from((String) get.get("body"));
        assertEquals("GET", echo.getString("method"));
        assertEquals("/v1/echo?status=open&page=2", echo.getString("uri"));
        assertEquals("alice", subjectOf(echo.getString("authorization")), "the session's own access token");
        assertNull(echo.getString("cookie"), "the browser's cookies stay at the broker");
        assertNull(echo.getString("csrf"));
        assertNull(echo.getString("origin"));

        Map<String, Object> order = Map.of("item", "coffee", "quantity", 2);
        Map<String, Object> post = bff("POST", "/api/orders/echo", order);
        assertEquals(200L, post.get("status"), post.toString());
        echo = JsonPath.from((String) post.get("body"));
        assertEquals("POST", echo.getString("method"));
        assertEquals("application/json", echo.getString("contentType"));
        assertEquals(order, JsonPath.from(echo.getString("body")).getMap("$"), "the page's JSON, as it sent it");
        assertEquals("alice", subjectOf(echo.getString("authorization")));

        Map<String, Object> big =
                asyncScript("download(arguments[0]).then(arguments[arguments.length - 1]);", "/api/orders/big");
        assertEquals(200L, big.get("status"), big.toString());
        assertEquals((long) ApiStubResource.BIG, big.get("length"));
        assertEquals(sha256OfBig(), big.get("sha256"), "the megabyte arrived byte for byte");

        assertNull(driver.manage().getCookieNamed("api-session"), "the API's Set-Cookie never reached the browser");
    }

    @Test
    void noScriptOnThePageCanObtainTheAccessTokenTheApiReceives() {
        signIn("erin");

        assertEquals(200L, bff("GET", "/api/orders/hello?page=1", null).get("status"));
        assertEquals(
                200L, bff("POST", "/api/orders/hello", Map.of("item", "tea")).get("status"));
        assertEquals(
                200L,
                asyncScript("download(arguments[0]).then(arguments[arguments.length - 1]);", "/api/orders/big")
                        .get("status"));
        Map<String, Object> user = bff("GET", "/user", null);
        assertEquals("erin", JsonPath.from((String) user.get("body")).getString("sub"), user.toString());
        Map<String, Object> token = bff("POST", "/token", null);
        assertEquals(403L, token.get("status"), "POST /bff/token answered the page"); // its body could hold a token
        assertEquals("access_denied", JsonPath.from((String) token.get("body")).getString("error"));
        assertFalse(((String) token.get("body")).contains("access_token"), "POST /bff/token gave the page a token");

        // What the API received, told to the test by the API, not by the page.
        List<String> authorizations = ApiStubResource.helloAuthorizations();
        assertEquals(2, authorizations.size(), "each call to /v1/hello reached the API once");
        List<String> secrets = new ArrayList<>();
        for (String authorization : authorizations) {
            assertEquals("erin", subjectOf(authorization), "the proxy attached the session's access token");
            String accessToken = authorization.substring("Bearer ".length());
            secrets.add(accessToken);
            String[] parts = accessToken.split("\\.");
            secrets.add(parts[1]); // its claims
            secrets.add(parts[2]); // its signature: with the claims, a usable copy
        }
        secrets.add(driver.manage().getCookieNamed(SESSION_COOKIE).getValue());

        String seen = everythingThePageCouldRead();
        assertTrue(seen.contains("\"hello\":\"world\""), "the page did read the API's answers");
        for (String secret : secrets) {
            assertFalse(seen.contains(secret), "a script on the page read a token or the session handle");
        }
        assertFalse(JWT.matcher(seen).find(), "no JWT of any kind reached a script on the page");
    }

    @Test
    void aPageOnAnotherOriginGetsNothingThroughTheProxy() {
        signIn("frank");
        driver.get(WebClientResource.evilOrigin() + "/");
        String url = WebClientResource.brokerOrigin() + "/bff/api/orders/hello";

        // The SPA's own calls, from the attacker's origin: the preflight is refused, the browser fails the fetch.
        assertNotNull(bff("GET", "/api/orders/hello", null).get("error"));
        assertNotNull(
                bff("POST", "/api/orders/hello", Map.of("item", "all of them")).get("error"));
        // No preflight (no X-CSRF): the broker refuses, and without CORS headers the browser hides the answer.
        assertNotNull(rawFetch(url, "{credentials: 'include'}").get("error"));
        // no-cors: the browser drops X-CSRF, and the answer is opaque to the script.
        for (String init : List.of(
                "{credentials: 'include', mode: 'no-cors', headers: {'X-CSRF': '1'}}",
                "{method: 'POST', credentials: 'include', mode: 'no-cors', headers: {'Content-Type': 'text/plain'},"
                        + " body: '{\"item\":\"all of them\"}'}")) {
            Map<String, Object> opaque = rawFetch(url, init);
            assertEquals("opaque", opaque.get("type"), opaque.toString());
            assertEquals(0L, opaque.get("status"));
            assertEquals("", opaque.get("body"), "the script reads no body");
        }
        for (Map<String, Object> answer : received()) {
            assertTrue(answer.get("error") != null || "".equals(answer.get("body")), answer.toString());
        }
        assertEquals(0, ApiStubResource.helloAuthorizations().size(), "nothing reached the API");

        driver.get(WebClientResource.appOrigin() + "/");
        assertEquals(200L, bff("GET", "/api/orders/hello", null).get("status"), "the session survived");
        assertEquals(1, ApiStubResource.helloAuthorizations().size());
    }

    @Test
    void afterLogoutTheProxyAnswersThePage401() {
        signIn("grace");
        assertEquals(200L, bff("GET", "/api/orders/hello", null).get("status"));

        Map<String, Object> logout = bff("POST", "/logout", null);
        assertEquals(200L, logout.get("status"), logout.toString());
        Map<String, Object> after = bff("GET", "/api/orders/hello", null);
        assertEquals(401L, after.get("status"), after.toString());
        assertEquals("login_required", JsonPath.from((String) after.get("body")).getString("error"));
        assertEquals("token-broker; error=http_request_denied", after.get("proxyStatus"), "the broker's own 401");
        assertEquals(1, ApiStubResource.helloAuthorizations().size(), "the API was not called after the logout");
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

    /** The SPA's own call: {@code fetch(BFF + path)} with the cookie, {@code X-CSRF: 1} and a JSON body if given. */
    private static Map<String, Object> bff(String method, String path, Object body) {
        return asyncScript(
                "bff(arguments[0], arguments[1], arguments[2]).then(arguments[arguments.length - 1]);",
                method,
                path,
                body);
    }

    /** Any fetch() a script on the open page could make; {@code error} when the browser blocked it. */
    private static Map<String, Object> rawFetch(String url, String init) {
        return asyncScript("""
                const done = arguments[arguments.length - 1];
                fetch(arguments[0], %s)
                  .then(r => r.text().then(t => done({status: r.status, type: r.type, body: t})))
                  .catch(e => done({error: String(e)}));""".formatted(init), url);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> received() {
        return (List<Map<String, Object>>) ((JavascriptExecutor) driver).executeScript("return window.received");
    }

    /** Every answer the page's scripts read (URL, readable headers, body), its cookies and its storage, as one text. */
    private static String everythingThePageCouldRead() {
        List<Map<String, Object>> received = received();
        assertEquals(5, received.size(), "every call the page made was recorded");
        StringBuilder all = new StringBuilder();
        for (Map<String, Object> answer : received) {
            all.append(answer).append('\n');
        }
        all.append(((JavascriptExecutor) driver)
                .executeScript("return document.cookie + '\\n' + JSON.stringify(localStorage) + '\\n'"
                        + " + JSON.stringify(sessionStorage)"));
        return all.toString();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asyncScript(String script, Object... args) {
        return (Map<String, Object>) ((JavascriptExecutor) driver).executeAsyncScript(script, args);
    }

    /** The {@code sub} of the JWT in {@code Authorization: Bearer <jwt>}, failing unless it is one. */
    private static String subjectOf(String authorization) {
        assertNotNull(authorization, "the API received an Authorization header");
        assertTrue(authorization.startsWith("Bearer ey"), authorization.length() + " characters, not a Bearer JWT");
        String[] parts = authorization.substring("Bearer ".length()).split("\\.");
        assertEquals(3, parts.length, "a signed JWT");
        return JsonPath.from(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8))
                .getString("sub");
    }

    private static String sha256OfBig() throws Exception {
        byte[] expected = new byte[ApiStubResource.BIG];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = (byte) (i % 251);
        }
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(expected));
    }
}
