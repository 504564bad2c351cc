package dev.tokenbroker.api.http;

import java.util.Set;
import java.util.StringJoiner;

import jakarta.inject.Singleton;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SpanProcessor;

/**
 * Keeps the values of query parameters out of traces. The HTTP spans Quarkus makes carry the request's query
 * ({@code url.query} on the server's, decoded; {@code url.full} on the client's), and the query of
 * {@code /bff/callback} holds the authorization code. Each span keeps the names of the OAuth and OpenID parameters the
 * broker's endpoints take ({@code code&state}) and writes {@code _} for any other name, since a name of an unknown
 * parameter (or a decoded {@code %26} inside a value) may be data; values are always dropped. Set before any exporter
 * sees the span.
 */
@Singleton
public class QueryRedaction implements SpanProcessor {

    static final AttributeKey<String> URL_QUERY = AttributeKey.stringKey("url.query");
    static final AttributeKey<String> URL_FULL = AttributeKey.stringKey("url.full");
    /** Parameter names shown as they are: those of the authorization responses and requests the broker handles. */
    private static final Set<String> KNOWN = Set.of(
            "code",
            "state",
            "iss",
            "error",
            "error_description",
            "error_uri",
            "session_state",
            "return_to",
            "client_id",
            "redirect_uri",
            "response_type",
            "scope",
            "code_challenge",
            "code_challenge_method",
            "nonce",
            "prompt",
            "post_logout_redirect_uri");

    @Override
    public void onStart(Context parentContext, ReadWriteSpan span) {
        String query = span.getAttribute(URL_QUERY);
        if (query != null) {
            span.setAttribute(URL_QUERY, namesOnly(query));
        }
        String url = span.getAttribute(URL_FULL);
        int mark = url == null ? -1 : url.indexOf('?');
        if (mark >= 0) {
            span.setAttribute(URL_FULL, url.substring(0, mark + 1) + namesOnly(url.substring(mark + 1)));
        }
    }

    @Override
    public boolean isStartRequired() {
        return true;
    }

    @Override
    public void onEnd(ReadableSpan span) {}

    @Override
    public boolean isEndRequired() {
        return false;
    }

    /** {@code code=1&state&x=y} becomes {@code code&state&_}; a fragment is dropped with the values. */
    static String namesOnly(String query) {
        int end = query.indexOf('#');
        StringJoiner names = new StringJoiner("&");
        for (String parameter : (end < 0 ? query : query.substring(0, end)).split("&", -1)) {
            int equals = parameter.indexOf('=');
            String name = equals < 0 ? parameter : parameter.substring(0, equals);
            names.add(KNOWN.contains(name) ? name : "_");
        }
        return names.toString();
    }
}
