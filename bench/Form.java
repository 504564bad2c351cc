import java.nio.charset.StandardCharsets;

/** application/x-www-form-urlencoded request bodies. */
final class Form {
    static final String TYPE = "application/x-www-form-urlencoded";

    private Form() {}

    /** The body of name/value pairs: {@code of("grant_type", "refresh_token", "refresh_token", rt)}. */
    static byte[] of(String... kv) {
        StringBuilder sb = new StringBuilder(128);
        for (int i = 0; i < kv.length; i += 2) {
            if (i > 0) {
                sb.append('&');
            }
            sb.append(kv[i]).append('=').append(Http.enc(kv[i + 1]));
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }
}
