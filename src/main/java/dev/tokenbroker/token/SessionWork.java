package dev.tokenbroker.token;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import dev.tokenbroker.error.BrokerException;
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
 * retries, {@code quarkus.redis.timeout} per Redis call); a stopping broker waits for it while Quarkus waits for
 * requests, and then for {@link #SHUTDOWN_WAIT} more.</li>
 * <li><b>What happens to a result nobody received:</b> {@link #outlivingCaller} hands it to the operation's own
 * {@code ifAbandoned} (a new session nobody holds a handle of is ended); a shared refresh needs none, since its result
 * is committed to the session and a retry within the grace gets it.</li>
 * </ul>
 */
@Singleton
public class SessionWork {

    private static final Logger LOG = Logger.getLogger(SessionWork.class);

    /**
     * How long a stopping broker waits for owned work once Quarkus' own graceful wait for requests is over. Owned work
     * runs during that wait too, so this only covers what outlived it: {@code quarkus.shutdown.delay} (5 s) plus
     * {@code quarkus.shutdown.timeout} (30 s) plus this stay within the Helm chart's 45 s termination grace.
     */
    static final Duration SHUTDOWN_WAIT = Duration.ofSeconds(4);

    private final Set<CompletableFuture<?>> running = ConcurrentHashMap.newKeySet();

    /**
     * Starts the work now, on the caller's thread and context, and lets it run to its end whatever the caller does.
     * Its outcome is what the returned future completes with; cancelling that future cancels nothing.
     */
    // One entry per started work: identity (CompletableFuture's equality) is what the set means.
    @SuppressWarnings("CollectionUndefinedEquality")
    <T> CompletableFuture<T> start(Supplier<Uni<T>> work) {
        CompletableFuture<T> outcome = new CompletableFuture<>();
        running.add(outcome);
        var unused = outcome.whenComplete((result, failure) -> running.remove(outcome));
        Uni.createFrom().deferred(work::get).subscribe().with(outcome::complete, outcome::completeExceptionally);
        return outcome;
    }

    /**
     * Runs the work to its end even when the caller goes away. A result the caller did not receive (it had gone
     * before the result was handed to it) goes to {@code ifAbandoned}, itself owned work; a failure nobody received is
     * logged. Best effort at the edge: a caller whose connection breaks while its answer is being written has received
     * it, as far as the broker can tell.
     */
    public <T> Uni<T> outlivingCaller(Supplier<Uni<T>> work, Function<T, Uni<Void>> ifAbandoned) {
        return Uni.createFrom().deferred(() -> {
            AtomicBoolean received = new AtomicBoolean();
            return Uni.createFrom()
                    .<T>emitter(emitter -> {
                        var unused = start(work).whenComplete((result, failure) -> {
                            // The emitter hands the outcome on synchronously, or drops it when the caller is gone.
                            if (failure != null) {
                                emitter.fail(failure);
                            } else {
                                emitter.complete(result);
                            }
                            if (received.get()) {
                                return;
                            }
                            if (failure != null) {
                                // As the error mapper would have logged it: a refusal quietly, a fault loudly.
                                boolean refusal = failure instanceof BrokerException b && b.status() < 500;
                                LOG.logf(
                                        refusal ? Logger.Level.DEBUG : Logger.Level.WARN,
                                        "A session operation failed after its caller went away: %s",
                                        failure.getClass().getSimpleName());
                            } else {
                                start(() -> ifAbandoned.apply(result)).exceptionally(e -> {
                                    LOG.warnf(
                                            "Could not clean up after a caller that went away: %s",
                                            e.getClass().getSimpleName());
                                    return null;
                                });
                            }
                        });
                    })
                    .onItemOrFailure()
                    .invoke(() -> received.set(true));
        });
    }

    /** A stopping broker lets owned work finish, and the work it starts (an abandoned session's end), for a while. */
    void onStop(@Observes ShutdownEvent event) {
        long deadline = System.nanoTime() + SHUTDOWN_WAIT.toNanos();
        while (!running.isEmpty()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                LOG.warnf("%d session operations did not finish before the broker stopped", running.size());
                return;
            }
            LOG.infof("Waiting for %d session operations to finish", running.size());
            try {
                CompletableFuture.allOf(running.toArray(CompletableFuture<?>[]::new))
                        .get(left, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                // A failed or late piece of work: the loop checks what is left.
            }
        }
    }
}
