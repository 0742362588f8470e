package dev.postern.route;

import org.xbill.DNS.Record;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Runs code written against the synchronous {@link Dns} (SPF, DKIM, DMARC, DNSBL checks) without holding a
 * thread while the DNS answers. The work runs on a CPU executor; a question whose answer is not known yet
 * ends the pass, goes out asynchronously, and once it is answered the work runs again from the start with
 * that answer known. Checks are functions of their facts and the DNS answers, so running one again is safe,
 * and cheap next to a round trip; answers in the resolver's cache cost no extra pass.
 *
 * <p>Waits are bounded: all questions of one run share one deadline (the DNS timeout), after which any
 * question still unanswered, and any new one, is a temporary failure; and the resolver has at most a fixed
 * number of distinct questions outstanding in the whole process (the same question from 200 sessions goes
 * out once). A slow or silent domain thus costs its own sessions one timeout and nobody else anything.
 */
public final class DnsReplay {
    /** Questions one run may ask before the rest count as failures (RFC 7208 4.6.4 bounds SPF well below). */
    static final int MAX_QUESTIONS = 200;

    public record Question(String name, int type) {}

    /** Where answers come from: the cache at once, or the network later. */
    public interface Source {
        /** A cached answer, or null. */
        Dns.Answer<Record> cached(Question q);

        /** Asks the network; completes (never exceptionally) with the answer or a temporary failure. */
        CompletableFuture<Dns.Answer<Record>> ask(Question q);
    }

    /**
     * Ends a pass that needs answers not known yet. An Error rather than a RuntimeException, so that no
     * check's catch-all mistakes it for a failure of its own; it never leaves {@link #run}.
     */
    static final class Pending extends Error {
        final List<Question> questions;

        Pending(List<Question> questions) {
            super(null, null, false, false);
            this.questions = questions;
        }
    }

    private static final ThreadLocal<Run<?>> CURRENT = new ThreadLocal<>();

    private final Source source;
    private final Executor cpu;
    private final long budgetNanos;

    public DnsReplay(Source source, Executor cpu, java.time.Duration budget) {
        this.source = source;
        this.cpu = cpu;
        this.budgetNanos = budget.toNanos();
    }

    /** Runs work on the CPU executor, as many passes as it needs; completes with its result or its exception. */
    public <T> CompletableFuture<T> run(Supplier<T> work) {
        Run<T> r = new Run<>(work, System.nanoTime() + budgetNanos);
        cpu.execute(r::pass);
        return r.result;
    }

    /**
     * As {@link #run}, but the first pass runs on this thread: work whose answers are all cached finishes
     * here without crossing threads; only work that must wait continues on the CPU executor.
     */
    public <T> CompletableFuture<T> runHere(Supplier<T> work) {
        Run<T> r = new Run<>(work, System.nanoTime() + budgetNanos);
        r.pass();
        return r.result;
    }

    /**
     * The answers to questions asked inside a run: known ones at once, otherwise this pass ends and the run
     * asks them all together. Returns null outside a run (the caller then waits on the network itself).
     */
    static List<Dns.Answer<Record>> answers(Source source, Question... questions) {
        Run<?> r = CURRENT.get();
        if (r == null) return null;
        List<Dns.Answer<Record>> out = new ArrayList<>(questions.length);
        List<Question> missing = null;
        for (Question q : questions) {
            Dns.Answer<Record> a = r.known.get(q);
            if (a == null) a = source.cached(q);
            if (a == null) {
                if (missing == null) missing = new ArrayList<>();
                missing.add(q);
            }
            out.add(a);
        }
        if (missing != null) throw new Pending(missing);
        return out;
    }

    private final class Run<T> {
        final Supplier<T> work;
        final long deadline;
        final Map<Question, Dns.Answer<Record>> known = new ConcurrentHashMap<>();
        final CompletableFuture<T> result = new CompletableFuture<>();

        Run(Supplier<T> work, long deadline) {
            this.work = work;
            this.deadline = deadline;
        }

        void pass() {
            List<Question> missing;
            CURRENT.set(this);
            try {
                result.complete(work.get());
                return;
            } catch (Pending p) {
                missing = p.questions;
            } catch (Throwable t) {
                result.completeExceptionally(t);
                return;
            } finally {
                CURRENT.remove();
            }
            long left = deadline - System.nanoTime();
            List<CompletableFuture<?>> waits = new ArrayList<>();
            for (Question q : missing) {
                if (left <= 0 || known.size() >= MAX_QUESTIONS) {
                    known.put(q, Dns.Answer.failed(Dns.Status.TEMPFAIL, q.name() + ": " + (left <= 0 ? "DNS time budget spent" : "too many DNS questions")));
                    continue;
                }
                // the network's future is shared by everyone asking the same; this run stops waiting at its deadline
                waits.add(source.ask(q).copy()
                        .completeOnTimeout(Dns.Answer.failed(Dns.Status.TEMPFAIL, q.name() + ": timed out"), left, TimeUnit.NANOSECONDS)
                        .thenAccept(a -> known.put(q, a)));
            }
            CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> cpu.execute(this::pass));
        }
    }
}
