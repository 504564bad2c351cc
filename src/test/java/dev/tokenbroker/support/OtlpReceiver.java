package dev.tokenbroker.support;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import com.google.protobuf.TextFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * An OTLP/HTTP trace receiver on loopback: decodes each {@code POST /v1/traces} as the protobuf
 * {@code ExportTraceServiceRequest} it is and keeps every span, as a collector would receive them. Turns the
 * broker's tracing on and points its exporter here ({@code http/protobuf}, spans batched every 50 ms).
 */
public class OtlpReceiver implements QuarkusTestResourceLifecycleManager {

    private static final List<ExportTraceServiceRequest> RECEIVED = new CopyOnWriteArrayList<>();
    /** Why exports could not be decoded (a protobuf runtime older than the messages' build, say). */
    private static final List<Throwable> UNREADABLE = new CopyOnWriteArrayList<>();

    private HttpServer server;

    @Override
    public Map<String, String> start() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        server.createContext("/v1/traces", OtlpReceiver::receive);
        server.start();
        return Map.of(
                "quarkus.otel.sdk.disabled", "false",
                "quarkus.otel.exporter.otlp.traces.protocol", "http/protobuf",
                "quarkus.otel.exporter.otlp.traces.endpoint",
                        "http://127.0.0.1:" + server.getAddress().getPort(),
                "quarkus.otel.bsp.schedule.delay", "50ms");
    }

    @Override
    public void stop() {
        server.stop(0);
    }

    private static void receive(HttpExchange exchange) throws IOException {
        try (exchange;
                InputStream body = exchange.getRequestBody()) {
            if (!"POST".equals(exchange.getRequestMethod())) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            try {
                RECEIVED.add(ExportTraceServiceRequest.parseFrom(body.readAllBytes()));
            } catch (IOException | RuntimeException | LinkageError e) {
                UNREADABLE.add(e);
                exchange.sendResponseHeaders(400, -1);
                return;
            }
            byte[] answer = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
            exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
            exchange.sendResponseHeaders(200, answer.length == 0 ? -1 : answer.length);
            exchange.getResponseBody().write(answer);
        }
    }

    /** Every span received so far; fails when an export could not be decoded. */
    public static List<Span> spans() {
        if (!UNREADABLE.isEmpty()) {
            throw new AssertionError("the receiver could not decode an export", UNREADABLE.get(0));
        }
        List<Span> spans = new ArrayList<>();
        for (ExportTraceServiceRequest request : RECEIVED) {
            for (ResourceSpans resource : request.getResourceSpansList()) {
                for (ScopeSpans scope : resource.getScopeSpansList()) {
                    spans.addAll(scope.getSpansList());
                }
            }
        }
        return spans;
    }

    /** Everything received, as text (protobuf's text format): span names, attributes, events, status, resources. */
    public static String everything() {
        StringBuilder text = new StringBuilder();
        TextFormat.Printer printer = TextFormat.printer().escapingNonAscii(false);
        RECEIVED.forEach(request -> text.append(printer.printToString(request)).append('\n'));
        return text.toString();
    }

    /** The string value of a span's attribute, or null. */
    public static String attribute(Span span, String key) {
        for (KeyValue attribute : span.getAttributesList()) {
            if (attribute.getKey().equals(key)) {
                return attribute.getValue().hasStringValue()
                        ? attribute.getValue().getStringValue()
                        : String.valueOf(attribute.getValue());
            }
        }
        return null;
    }
}
