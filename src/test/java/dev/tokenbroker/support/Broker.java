package dev.tokenbroker.support;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;

import static io.restassured.RestAssured.given;

/** The broker's public API as a front end calls it, over real HTTP. */
public final class Broker {

    public static final String MOBILE = "clover";
    public static final String WEB = "clover-web";
    public static final String MOBILE_REDIRECT = "clover://auth-callback";
    /** A valid RFC 7636 verifier (43 characters). */
    public static final String VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    private Broker() {}

    public static ValidatableResponse exchange(String clientId, String code, String redirectUri, String verifier) {
        return token(params(
                "grant_type",
                "authorization_code",
                "client_id",
                clientId,
                "code",
                code,
                "redirect_uri",
                redirectUri,
                "code_verifier",
                verifier));
    }

    public static ValidatableResponse refresh(String clientId, String handle) {
        return token(params("grant_type", "refresh_token", "client_id", clientId, "refresh_token", handle));
    }

    public static ValidatableResponse token(Map<String, String> form) {
        return given().contentType(ContentType.URLENC)
                .formParams(form)
                .post("/oauth2/token")
                .then();
    }

    public static ValidatableResponse revoke(String clientId, String handle) {
        return given().contentType(ContentType.URLENC)
                .formParams(params("client_id", clientId, "token", handle, "token_type_hint", "refresh_token"))
                .post("/oauth2/revoke")
                .then();
    }

    /** Name/value pairs in order; a null value leaves the parameter out. */
    public static Map<String, String> params(String... namesAndValues) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            if (namesAndValues[i + 1] != null) {
                map.put(namesAndValues[i], namesAndValues[i + 1]);
            }
        }
        return map;
    }

    /** An {@code application/x-www-form-urlencoded} body as the upstream reads it, by name; a repeated name fails. */
    public static Map<String, String> formOf(String body) {
        Map<String, String> form = new LinkedHashMap<>();
        for (String pair : body.split("&")) {
            int eq = pair.indexOf('=');
            String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            if (form.put(name, value) != null) {
                throw new AssertionError("parameter " + name + " sent twice");
            }
        }
        return form;
    }
}
