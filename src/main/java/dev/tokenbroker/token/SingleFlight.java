package dev.tokenbroker.token;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import dev.tokenbroker.error.BrokerException;

/**
 * In this process, concurrent calls with the same key share one execution of the work: the first caller runs it,
 * the others wait for its result (or its exception), at most {@code joinWait}.
 */
final class SingleFlight<V> {

    private final ConcurrentHashMap<String, CompletableFuture<V>> inFlight = new ConcurrentHashMap<>();
    private final Runnable onJoin;

    /** @param onJoin called for every caller that joined someone else's execution (a metric) */
    SingleFlight(Runnable onJoin) {
        this.onJoin = onJoin;
    }

    V run(String key, Duration joinWait, Supplier<V> work) {
        CompletableFuture<V> mine = new CompletableFuture<>();
        CompletableFuture<V> running = inFlight.putIfAbsent(key, mine);
        if (running == null) {
            try {
                V result = work.get();
                mine.complete(result);
                return result;
            } catch (RuntimeException e) {
                mine.completeExceptionally(e);
                throw e;
            } finally {
                inFlight.remove(key, mine);
            }
        }
        onJoin.run();
        try {
            return running.get(joinWait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new BrokerException.ServerError("shared work failed", e.getCause());
        } catch (TimeoutException e) {
            throw new BrokerException.RefreshContended("joined work did not finish in " + joinWait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BrokerException.RefreshContended("interrupted while waiting for shared work");
        }
    }
}
