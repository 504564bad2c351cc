package dev.tokenbroker.token;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import dev.tokenbroker.error.BrokerException;
import io.smallrye.mutiny.Uni;

/**
 * In this process, concurrent calls with the same key share one execution of the work: the first caller runs it,
 * the others wait for its result (or its failure), at most {@code joinWait}.
 */
final class SingleFlight<V> {

    private final ConcurrentHashMap<String, CompletableFuture<V>> inFlight = new ConcurrentHashMap<>();
    private final Runnable onJoin;

    /** @param onJoin called for every caller that joined someone else's execution (a metric) */
    SingleFlight(Runnable onJoin) {
        this.onJoin = onJoin;
    }

    Uni<V> run(String key, Duration joinWait, Supplier<Uni<V>> work) {
        return Uni.createFrom().deferred(() -> {
            CompletableFuture<V> mine = new CompletableFuture<>();
            CompletableFuture<V> running = inFlight.putIfAbsent(key, mine);
            if (running == null) {
                return Uni.createFrom()
                        .deferred(work::get)
                        .onItemOrFailure()
                        .invoke((result, failure) -> {
                            inFlight.remove(key, mine);
                            if (failure != null) {
                                mine.completeExceptionally(failure);
                            } else {
                                mine.complete(result);
                            }
                        })
                        .onCancellation()
                        .invoke(() -> {
                            // The first caller went away (its client disconnected): the others must not wait on it.
                            inFlight.remove(key, mine);
                            mine.completeExceptionally(new BrokerException.RefreshContended("shared work cancelled"));
                        });
            }
            onJoin.run();
            return Uni.createFrom()
                    .completionStage(running)
                    .ifNoItem()
                    .after(joinWait)
                    .failWith(() -> new BrokerException.RefreshContended("joined work did not finish in " + joinWait))
                    .onFailure(java.util.concurrent.CompletionException.class)
                    .transform(Throwable::getCause);
        });
    }
}
