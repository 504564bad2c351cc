package dev.tokenbroker.faults;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

import com.nimbusds.oauth2.sdk.TokenRequest;

import dev.tokenbroker.crypto.Handles;
import dev.tokenbroker.crypto.KeyRing;
import dev.tokenbroker.session.WebSessionStore;
import dev.tokenbroker.support.Await;
import dev.tokenbroker.support.MockUpstreamResource;
import dev.tokenbroker.support.RedisResource;
import dev.tokenbroker.support.StoredSessions;
import dev.tokenbroker.support.WebClientResource;
import dev.tokenbroker.support.WebLogin;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;

import static dev.tokenbroker.support.WebLogin.SESSION_COOKIE;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A browser that goes away (a tab closed, a page navigated) while the broker works for one of its {@code /bff/*}
 * requests: the session's work finishes without it.
 */
@QuarkusTest
@WithTestResource(RedisResource.class)
@WithTestResource(MockUpstreamResource.class)
@WithTestResource(WebClientResource.class)
class WebHangUpTest {

    private static final long UPSTREAM_MILLIS = 1500;
    private static final long HANG_UP_AFTER_MILLIS = 300;

    @ConfigProperty(name = "quarkus.http.test-port")
    int port;

    @Inject
    WebSessionStore records;

    @Inject
    RedisDataSource redis;

    @Inject
    KeyRing keyRing;

    /**
     * The refresh and the session's record are both updated without the browser, so the next {@code /bff/token} is
     * answered from the record, with the token the lost answer held.
     */
    @Test
    void tokenRequestWhoseBrowserHangsUpStillStoresTheRefreshedToken() throws Exception {
        // The login's tokens live 5 s, within broker.web.refresh-margin: the next /bff/token refreshes. The upstream
        // issues the refreshed tokens with the login's callback.
        SlowTokens tokens = new SlowTokens();
        MockUpstreamResource.server().enqueueCallback(tokens);
        String cookie = WebLogin.signIn(WebClientResource.appOrigin() + "/");
        String sessionId = Handles.parse(cookie).orElseThrow().sessionId();
        String before = record(sessionId).accessToken();
        tokens.slowDownTheNextOne();

        Clients.hangUpDuring(port, bffPost("/bff/token", cookie), HANG_UP_AFTER_MILLIS);
        Await.until(
                "the session's record holds the refreshed token",
                Duration.ofSeconds(10),
                () -> !record(sessionId).accessToken().equals(before));
        String late = record(sessionId).accessToken();

        MockUpstreamResource.drainRecordedRequests();
        assertEquals(
                late,
                WebLogin.accessToken(cookie, WebClientResource.appOrigin()).path("access_token"));
        assertEquals(null, MockUpstreamResource.poll(500), "answered from the record, no upstream call");
    }

    @Test
    void logoutWhoseBrowserHangsUpStillEndsTheSessionAndRevokesItsRefreshToken() throws Exception {
        String cookie = WebLogin.signIn(WebClientResource.appOrigin() + "/");
        String sessionId = Handles.parse(cookie).orElseThrow().sessionId();
        String refreshToken =
                keyRing.decrypt(StoredSessions.of(redis, cookie).get("rt"), "session:" + sessionId + ":rt");
        MockUpstreamResource.drainRecordedRequests();

        // A page that navigates away as soon as its logout request is sent.
        Clients.hangUpDuring(port, bffPost("/bff/logout", cookie), 0);

        assertTrue(
                MockUpstreamResource.revokedRefreshTokens().contains(refreshToken),
                "the session's upstream refresh token was revoked");
        given().cookie(SESSION_COOKIE, cookie)
                .header("X-CSRF", "1")
                .get("/bff/user")
                .then()
                .statusCode(401);
    }

    private WebSessionStore.WebSession record(String sessionId) {
        return records.get(sessionId).await().indefinitely().orElseThrow();
    }

    /** Tokens for 5 s; once {@link #slowDownTheNextOne()} is called, the next is issued {@link #UPSTREAM_MILLIS} late. */
    private static final class SlowTokens extends DefaultOAuth2TokenCallback {
        private final AtomicBoolean slow = new AtomicBoolean();

        SlowTokens() {
            super("connect", "alice", "JWT", List.of(WebClientResource.CLIENT_ID), Map.of(), 5);
        }

        void slowDownTheNextOne() {
            slow.set(true);
        }

        /** Asked for every token the upstream issues with this callback. */
        @Override
        public Map<String, Object> addClaims(TokenRequest request) {
            if (slow.getAndSet(false)) {
                try {
                    Thread.sleep(UPSTREAM_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return super.addClaims(request);
        }
    }

    /** A {@code POST} from the SPA's page, with its session cookie. */
    private String bffPost(String path, String cookie) {
        return "POST " + path + " HTTP/1.1\r\nHost: localhost:" + port + "\r\nCookie: " + SESSION_COOKIE + "=" + cookie
                + "\r\nX-CSRF: 1\r\nOrigin: " + WebClientResource.appOrigin() + "\r\nContent-Length: 0\r\n\r\n";
    }
}
