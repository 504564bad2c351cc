package dev.tokenbroker.support;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** Fires refreshes at once, spread over one or more broker base URLs. */
public final class ConcurrentCalls {

    /** Status and body of one answer. */
    public record Answer(int status, String body) {}

    private ConcurrentCalls() {}

    public static List<Answer> refreshAtOnce(int n, List<String> brokerBaseUrls, String clientId, String handle)
            throws Exception {
        return refreshEachAtOnce(brokerBaseUrls, clientId, java.util.Collections.nCopies(n, handle));
    }

    /** One refresh per entry of {@code handles}, all released at the same moment. */
    public static List<Answer> refreshEachAtOnce(List<String> brokerBaseUrls, String clientId, List<String> handles)
            throws Exception {
        int n = handles.size();
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        ExecutorService pool = Executors.newFixedThreadPool(n);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<Answer>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String base = brokerBaseUrls.get(i % brokerBaseUrls.size());
                String form =
                        "grant_type=refresh_token&client_id=" + URLEncoder.encode(clientId, StandardCharsets.UTF_8)
                                + "&refresh_token=" + URLEncoder.encode(handles.get(i), StandardCharsets.UTF_8);
                HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/oauth2/token"))
                        .timeout(Duration.ofSeconds(30))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .POST(HttpRequest.BodyPublishers.ofString(form))
                        .build();
                futures.add(pool.submit(() -> {
                    start.await();
                    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                    return new Answer(response.statusCode(), response.body());
                }));
            }
            start.countDown();
            List<Answer> answers = new ArrayList<>();
            for (Future<Answer> f : futures) {
                answers.add(f.get(60, TimeUnit.SECONDS));
            }
            return answers;
        } finally {
            pool.shutdownNow();
        }
    }
}
