package dev.tokenbroker.upstream;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class BasicAuthorizationTest {

    private static String decoded(String header) {
        return new String(Base64.getDecoder().decode(header.substring("Basic ".length())), StandardCharsets.UTF_8);
    }

    @Test
    void idAndSecretAreFormUrlEncodedBeforeBase64() {
        assertEquals(
                "clover:s%3Ae%2Bc%25r+et+%C3%A9",
                decoded(UpstreamClient.basicAuthorization("clover", "s:e+c%r et \u00e9")));
        assertEquals("my+app%3A1:s%3Dcr%25t", decoded(UpstreamClient.basicAuthorization("my app:1", "s=cr%t")));
        assertEquals(
                "clover:plain-Secret_1.%7E", decoded(UpstreamClient.basicAuthorization("clover", "plain-Secret_1.~")));
    }
}
