package dev.tokenbroker.token;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.quarkus.runtime.ShutdownEvent;
import io.smallrye.mutiny.Uni;

/**
 * Where work lives that must outlive the request that started it. Quarkus REST cancels a request's {@code Uni} when
 * the client's connection closes; a refresh whose upstream call has left, a code exchange the upstream has answered,
 * a revocation, must still reach their end, or a rotated upstream refresh token is lost, a lock is kept for nothing
 * and a spent token is presented again.
 * <ul>
 * <li><b>Who owns it:</b> this class, from the moment a caller starts it; never the caller's subscription.</li>
 * <li><b>Who may wait for it:</b> the caller that started it and, through {@link SingleFlight}, callers that joined
 * it. A waiter that goes away stops its own wait and nothing else.</li>
 * <li><b>How long it may run:</b> as long as its own bounds allow (an upstream call's {@code callBudget}, the commit's
 * retries, {@code quarkus.redis.timeout} per Redis call); a stopping broker waits for it for at most
 * {@link #SHUTDOWN_WAIT}.</li>
 * <li><b>What happens to a result nobody received:</b> {@link #outlivingCaller} hands it to the operation's own
 * {@code ifAbandoned} (a new session nobody holds a handle of is ended); a shared refresh needs none, since its result
 * is committed to the session and a retry within the grace gets it.</li>
 * </ul>
 */
@Singleton
public class SessionWork {

    private static final Logger LOG = Logger.getLogger(SessionWork.class);

    /**
     * How long a stopping broker waits for owned work: above the longest refresh (an upstream call's default budget of
     * 12 s plus {@link RefreshSession#COMMIT_BUDGET}), within {@code quarkus.shutdown.timeout} plus the Helm chart's
     * grace.
     */
    static final Duration SHUTDOWN_WAIT = Duration.ofSeconds(25);

    private static final int WAITING = 0;
    private static final int DELIVERED = 1;
    private static final int GONE = 2;

    private final Set<CompletableFuture<?>> running = ConcurrentHashMap.newKeySet();

    /**
     * Starts the work now, on the caller's thread and context, and lets it run to its end whatever the caller does.
     * Its outcome is what the returned future completes with; cancelling that future cancels nothing.
     */
    <T> CompletableFuture<T> start(Supplier<Uni<T>> work) {
        CompletableFuture<T> outcome = new CompletableFuture<>();
        running.add(outcome);
        outcome.whenComplete((result, failure) -> running.remove(outcome));
        Uni.createFrom().deferred(work::get).subscribe().with(outcome::complete, outcome::completeExceptionally);
        return outcome;
    }

    /**
     * Runs the work to its end even when the caller goes away. If the caller left before the result reached it, the
     * result goes to {@code ifAbandoned} instead (whose own failure is only logged); a failure reaches the caller or
     * nobody.
     */
    public <T> Uni<T> outlivingCaller(Supplier<Uni<T>> work, Function<T, Uni<Void>> ifAbandoned) {
        return Uni.createFrom().emitter(emitter -> {
            AtomicInteger caller = new AtomicInteger(WAITING);
            emitter.onTermination(() -> caller.compareAndSet(WAITING, GONE));
            start(work).whenComplete((result, failure) -> {
                if (!caller.compareAndSet(WAITING, DELIVERED)) {
                    if (failure == null) {
                        ifAbandoned
                                .apply(result)
                                .subscribe()
                                .with(
                                        done -> {},
                                        e -> LOG.warnf(
                                                "Could not clean up after a caller that went away: %s",
                                                e.getClass().getSimpleName()));
                    }
                } else if (failure != null) {
                    emitter.fail(failure);
                } else {
                    emitter.complete(result);
                }
            });
        });
    }

    /** Owned work that has not ended yet, in this process. */
    int running() {
        return running.size();
    }

    /** A stopping broker lets owned work finish: a refresh commits, an abandoned session ends. */
    void onStop(@Observes ShutdownEvent event) {
        CompletableFuture<?>[] left = running.toArray(CompletableFuture<?>[]::new);
        if (left.length == 0) {
            return;
        }
        LOG.infof("Waiting for %d session operations to finish", left.length);
        try {
            CompletableFuture.allOf(left).get(SHUTDOWN_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.warnf("%d session operations did not finish before the broker stopped", running.size());
        }
    }
}
