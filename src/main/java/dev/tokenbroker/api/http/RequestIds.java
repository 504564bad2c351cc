package dev.tokenbroker.api.http;

import java.security.SecureRandom;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.regex.Pattern;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;

import org.jboss.logging.MDC;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;
import org.jboss.resteasy.reactive.server.ServerResponseFilter;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;

/**
 * A request id on every log line of a request (MDC {@code request_id}) and in the {@code X-Request-Id}
 * response header. With tracing on it is the request's trace id (the caller's, from its {@code traceparent}), so a log
 * line leads to its trace; without, a caller's well-formed {@code X-Request-Id} is kept, so ids follow requests across
 * services.
 */
public class RequestIds {

    static final String HEADER = "X-Request-Id";
    private static final Pattern ACCEPTED = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final ThreadLocal<SplittableRandom> IDS =
            ThreadLocal.withInitial(() -> new SplittableRandom(new SecureRandom().nextLong()));

    @ServerRequestFilter(preMatching = true)
    void assign(ContainerRequestContext request) {
        SpanContext trace = Span.current().getSpanContext();
        String given = request.getHeaderString(HEADER);
        String id;
        if (trace.isValid()) {
            id = trace.getTraceId();
        } else if (given != null && ACCEPTED.matcher(given).matches()) {
            id = given;
        } else {
            id = randomId();
        }
        request.setProperty(HEADER, id);
        MDC.put("request_id", id);
    }

    /**
     * A random (version 4) UUID from a generator of each thread's own, seeded from {@code SecureRandom}:
     * {@link UUID#randomUUID()} draws from one shared {@code SecureRandom} on every request. Not {@code
     * ThreadLocalRandom}: an id reveals its generator's state, and that one also draws DNS query ids.
     */
    static String randomId() {
        SplittableRandom random = IDS.get();
        long high = random.nextLong() & ~0xF000L | 0x4000L;
        long low = random.nextLong() & ~(0xCL << 60) | 0x8L << 60;
        return new UUID(high, low).toString();
    }

    @ServerResponseFilter
    void expose(ContainerRequestContext request, ContainerResponseContext response) {
        Object id = request.getProperty(HEADER);
        if (id != null) {
            response.getHeaders().putSingle(HEADER, id);
        }
        MDC.remove("request_id");
    }
}
