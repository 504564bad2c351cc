package dev.tokenbroker.api.http;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import dev.tokenbroker.error.BrokerException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The form reader on its own: the plain-ASCII shortcut and the decoding path give the same values. */
class FormBodyTest {

    private static Params parse(String body, String contentType) {
        return FormBody.parse(body.getBytes(StandardCharsets.ISO_8859_1), contentType);
    }

    @Test
    void plainFieldsAreReadAsTheyAre() {
        Params form = parse("grant_type=refresh_token&refresh_token=abc.DEF_-~", "application/x-www-form-urlencoded");
        assertEquals("refresh_token", form.required("grant_type"));
        assertEquals("abc.DEF_-~", form.required("refresh_token"));
    }

    @Test
    void plusAndPercentEncodingsAreDecoded() {
        Params form = parse("scope=openid+api&redirect_uri=clover%3A%2F%2Fcb%2B1", "application/x-www-form-urlencoded");
        assertEquals("openid api", form.required("scope"));
        assertEquals("clover://cb+1", form.required("redirect_uri"));
    }

    @Test
    void theCharsetParameterDecidesHowEncodedBytesAreRead() {
        String body = "name=%C3%A9";
        assertEquals("é", parse(body, "application/x-www-form-urlencoded").required("name"));
        assertEquals(
                "é",
                parse(body, "application/x-www-form-urlencoded; charset=UTF-8").required("name"));
        assertEquals(
                "Ã©",
                parse(body, "application/x-www-form-urlencoded;charset=ISO-8859-1")
                        .required("name"));
    }

    @Test
    void rawBytesOutsideAsciiAreReadInTheCharset() {
        byte[] body = "name=\u00e9".getBytes(StandardCharsets.UTF_8);
        assertEquals(
                "é", FormBody.parse(body, "application/x-www-form-urlencoded").required("name"));
        assertThrows(
                BrokerException.InvalidRequest.class,
                () -> FormBody.parse(body, "application/x-www-form-urlencoded; charset=us-ascii"));
    }

    @Test
    void aContentTypeThatIsNotAMediaTypeIsAnInvalidRequest() {
        assertThrows(BrokerException.InvalidRequest.class, () -> parse("a=b", "application/"));
        assertThrows(BrokerException.InvalidRequest.class, () -> parse("a=b", "foo"));
    }

    @Test
    void malformedEncodingsAreInvalidRequests() {
        assertThrows(BrokerException.InvalidRequest.class, () -> parse("a=%4", null));
        assertThrows(BrokerException.InvalidRequest.class, () -> parse("a=%zz", null));
        assertThrows(BrokerException.InvalidRequest.class, () -> parse("a=%C3%28", null));
    }
}
