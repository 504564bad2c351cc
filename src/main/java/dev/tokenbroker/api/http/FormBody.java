package dev.tokenbroker.api.http;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import jakarta.ws.rs.core.MediaType;

import dev.tokenbroker.error.BrokerException;

/**
 * Reads an {@code application/x-www-form-urlencoded} body strictly: a malformed or truncated percent-encoding, or
 * bytes that are not valid in the charset (overlong UTF-8 forms and encoded surrogates included) make the request
 * invalid. The framework's own parser threw {@code IllegalArgumentException} on the first (a 500) and replaced the
 * second with U+FFFD. The charset is the {@code Content-Type}'s {@code charset} parameter, UTF-8 without one (what
 * OAuth clients send; {@link MalformedRequests} has refused charsets this JVM does not know).
 */
public final class FormBody {

    private static final Set<Charset> ASCII_COMPATIBLE =
            Set.of(StandardCharsets.UTF_8, StandardCharsets.US_ASCII, StandardCharsets.ISO_8859_1);

    private FormBody() {}

    public static Params parse(byte[] body, String contentType) {
        Charset charset = charset(contentType);
        Map<String, List<String>> values = new LinkedHashMap<>();
        int start = 0;
        for (int i = 0; i <= body.length; i++) {
            if (i == body.length || body[i] == '&') {
                if (i > start) {
                    int eq = indexOf(body, start, i, (byte) '=');
                    String name = decode(body, start, eq < 0 ? i : eq, charset);
                    String value = eq < 0 ? "" : decode(body, eq + 1, i, charset);
                    values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
                }
                start = i + 1;
            }
        }
        return new Params(values);
    }

    private static int indexOf(byte[] data, int from, int to, byte b) {
        for (int i = from; i < to; i++) {
            if (data[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private static Charset charset(String contentType) {
        if (contentType == null || contentType.equals(MediaType.APPLICATION_FORM_URLENCODED)) {
            return StandardCharsets.UTF_8; // what clients send: no media type to parse on every request
        }
        try {
            String name = MediaType.valueOf(contentType).getParameters().get(MediaType.CHARSET_PARAMETER);
            return name == null ? StandardCharsets.UTF_8 : Charset.forName(name);
        } catch (RuntimeException e) {
            throw new BrokerException.InvalidRequest("Unknown charset");
        }
    }

    private static String decode(byte[] data, int from, int to, Charset charset) {
        if (plainAscii(data, from, to) && ASCII_COMPATIBLE.contains(charset)) {
            // Nothing to unescape, and these charsets read ASCII as ASCII: most fields of an OAuth request.
            return new String(data, from, to - from, StandardCharsets.US_ASCII);
        }
        byte[] bytes = new byte[to - from];
        int length = 0;
        for (int i = from; i < to; i++) {
            byte b = data[i];
            if (b == '+') {
                bytes[length++] = ' ';
            } else if (b == '%') {
                if (i + 2 >= to) {
                    throw malformed();
                }
                int high = Character.digit(data[i + 1], 16);
                int low = Character.digit(data[i + 2], 16);
                if (high < 0 || low < 0) {
                    throw malformed();
                }
                bytes[length++] = (byte) (high << 4 | low);
                i += 2;
            } else {
                bytes[length++] = b;
            }
        }
        try {
            return charset.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, 0, length))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new BrokerException.InvalidRequest("The form body is not valid in its charset");
        }
    }

    /** ASCII without the two characters that need decoding, {@code +} and {@code %}. */
    private static boolean plainAscii(byte[] data, int from, int to) {
        for (int i = from; i < to; i++) {
            byte b = data[i];
            if (b < 0 || b == '+' || b == '%') {
                return false;
            }
        }
        return true;
    }

    private static BrokerException malformed() {
        return new BrokerException.InvalidRequest("The form body has a malformed percent-encoding");
    }
}
