package dev.tokenbroker.api.http;

import jakarta.inject.Singleton;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SpanProcessor;

/**
 * Keeps the values of query parameters out of traces. The HTTP spans Quarkus makes carry the request's query
 * ({@code url.query} on the server's, {@code url.full} on the client's), and the query of {@code /bff/callback} holds
 * the authorization code. Each span keeps the parameters' names only ({@code code&state}), set before any exporter
 * sees the span.
 */
@Singleton
public class QueryRedaction implements SpanProcessor {

    static final AttributeKey<String> URL_QUERY = AttributeKey.stringKey("url.query");
    static final AttributeKey<String> URL_FULL = AttributeKey.stringKey("url.full");

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

    /** {@code a=1&b&c=x=y} becomes {@code a&b&c}; a fragment is dropped with the values. */
    static String namesOnly(String query) {
        StringBuilder names = new StringBuilder(query.length());
        boolean inValue = false;
        for (int i = 0; i < query.length(); i++) {
            char c = query.charAt(i);
            if (c == '#') {
                break;
            } else if (c == '&') {
                inValue = false;
                names.append(c);
            } else if (c == '=') {
                inValue = true;
            } else if (!inValue) {
                names.append(c);
            }
        }
        return names.toString();
    }
}
