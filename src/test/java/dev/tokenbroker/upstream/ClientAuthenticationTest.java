package dev.tokenbroker.upstream;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

import jakarta.ws.rs.core.Form;

import org.junit.jupiter.api.Test;

import io.vertx.core.http.RequestOptions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

/** What each client authentication method adds to an upstream call, and that none shows its secret. */
class ClientAuthenticationTest {

    private static final String SECRET = "s:e+c%r et \u00e9";

    private static String decoded(String header) {
        return new String(Base64.getDecoder().decode(header.substring("Basic ".length())), StandardCharsets.UTF_8);
    }

    @Test
    void idAndSecretAreFormUrlEncodedBeforeBase64() {
        assertEquals(
                "clover:s%3Ae%2Bc%25r+et+%C3%A9", decoded(ClientSecretBasic.header("clover", "s:e+c%r et \u00e9")));
        assertEquals("my+app%3A1:s%3Dcr%25t", decoded(ClientSecretBasic.header("my app:1", "s=cr%t")));
        assertEquals("clover:plain-Secret_1.%7E", decoded(ClientSecretBasic.header("clover", "plain-Secret_1.~")));
    }

    @Test
    void basicSetsOnlyTheAuthorizationHeader() {
        RequestOptions request = new RequestOptions();
        Form form = new Form().param("grant_type", "refresh_token");
        ClientAuthentication basic = new ClientSecretBasic("clover", SECRET);

        basic.apply("https://login.example.com/connect/token", request, form);

        assertEquals(
                "clover:s%3Ae%2Bc%25r+et+%C3%A9", decoded(request.getHeaders().get("Authorization")));
        assertEquals(List.of("grant_type"), List.copyOf(form.asMap().keySet()), "nothing in the form");
        assertFalse(basic.toString().contains("s:e"));
    }

    @Test
    void postAddsIdAndSecretToTheFormAndNoHeader() {
        RequestOptions request = new RequestOptions();
        Form form = new Form().param("grant_type", "refresh_token");
        ClientAuthentication post = new ClientSecretPost("clover-web", SECRET);

        post.apply("https://login.example.com/connect/token", request, form);

        assertEquals(List.of("clover-web"), form.asMap().get("client_id"));
        assertEquals(List.of(SECRET), form.asMap().get("client_secret"));
        assertNull(request.getHeaders(), "no header");
        assertFalse(post.toString().contains("s:e"));
    }
}
