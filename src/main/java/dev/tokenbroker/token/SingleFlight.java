package dev.tokenbroker.token;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import dev.tokenbroker.error.BrokerException;
import io.smallrye.mutiny.Uni;

/**
 * In this process, concurrent calls with the same key share one execution of the work: the first caller starts it as
 * {@link SessionWork}, so it runs to its end even if that caller goes away, and every caller, the first one included,
 * waits for its result (or its failure) at most {@code wait}. A caller that stops waiting cancels nothing.
 */
final class SingleFlight<V> {

    private final ConcurrentHashMap<String, CompletableFuture<V>> inFlight = new ConcurrentHashMap<>();
    private final SessionWork owner;
    private final Runnable onJoin;

    /** @param onJoin called for every caller that joined someone else's execution (a metric) */
    SingleFlight(SessionWork owner, Runnable onJoin) {
        this.owner = owner;
        this.onJoin = onJoin;
    }

    Uni<V> run(String key, Duration wait, Supplier<Uni<V>> work) {
        return Uni.createFrom().deferred(() -> {
            CompletableFuture<V> mine = new CompletableFuture<>();
            CompletableFuture<V> running = inFlight.putIfAbsent(key, mine);
            if (running == null) {
                running = mine;
                var unused = owner.start(work).whenComplete((result, failure) -> {
                    inFlight.remove(key, mine);
                    if (failure != null) {
                        mine.completeExceptionally(failure);
                    } else {
                        mine.complete(result);
                    }
                });
            } else {
                onJoin.run();
            }
            // A copy per caller: cancelling one caller's wait must not complete the shared future for the others.
            return Uni.createFrom()
                    .completionStage(running.copy())
                    .ifNoItem()
                    .after(wait)
                    .failWith(() -> new BrokerException.RefreshContended("shared work did not finish in " + wait))
                    .onFailure(CompletionException.class)
                    .transform(Throwable::getCause);
        });
    }
}
