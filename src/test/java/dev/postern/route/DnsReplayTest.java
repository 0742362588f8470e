package dev.postern.route;

import org.junit.jupiter.api.Test;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Type;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** Synchronous check code run without a thread waiting on the DNS (DnsReplay), in memory. */
class DnsReplayTest {

    /** Answers questions when the test says so; counts questions. */
    static class ManualSource implements DnsReplay.Source {
        final Map<DnsReplay.Question, CompletableFuture<Dns.Answer<Record>>> asked = new ConcurrentHashMap<>();
        @Override public Dns.Answer<Record> cached(DnsReplay.Question q) { return null; }
        @Override public CompletableFuture<Dns.Answer<Record>> ask(DnsReplay.Question q) {
            return asked.computeIfAbsent(q, k -> new CompletableFuture<>());
        }
        void answer(String name, String text) throws Exception {
            // the pass that asks it runs on the CPU executor: wait for the question before answering it
            long deadline = System.currentTimeMillis() + 5_000;
            while (!asked.containsKey(new DnsReplay.Question(name, Type.TXT)) && System.currentTimeMillis() < deadline) Thread.sleep(1);
            Record r = new TXTRecord(Name.fromString(name), DClass.IN, 300, text);
            asked.get(new DnsReplay.Question(name, Type.TXT)).complete(Dns.Answer.of(List.of(r)));
        }
    }

    static String txt(DnsReplay.Source s, String name) {
        Dns.Answer<Record> a = DnsReplay.answers(s, new DnsReplay.Question(name, Type.TXT)).get(0);
        return a.status() == Dns.Status.OK ? ((TXTRecord) a.values().get(0)).getStrings().get(0) : a.status().name();
    }

    @Test void workRunsAgainWithEachAnswerAndNoThreadWaits() throws Exception {
        ManualSource dns = new ManualSource();
        ExecutorService cpu = Executors.newSingleThreadExecutor();
        AtomicInteger passes = new AtomicInteger();
        DnsReplay replay = new DnsReplay(dns, cpu, Duration.ofSeconds(30));
        CompletableFuture<String> r = replay.run(() -> {
            passes.incrementAndGet();
            return txt(dns, "a.test.") + "+" + txt(dns, "b.test.");
        });
        // a thousand more runs waiting on the same question do not hold the one CPU thread
        List<CompletableFuture<String>> others = new ArrayList<>();
        for (int i = 0; i < 1000; i++) others.add(replay.run(() -> txt(dns, "a.test.")));
        Thread.sleep(100);
        assertThat(r).isNotDone();
        assertThat(cpu.submit(() -> "free").get(1, TimeUnit.SECONDS)).isEqualTo("free");
        assertThat(dns.asked).as("one question out for 1001 runs").hasSize(1);
        dns.answer("a.test.", "one");
        for (var o : others) assertThat(o.get(5, TimeUnit.SECONDS)).isEqualTo("one");
        dns.answer("b.test.", "two");
        assertThat(r.get(5, TimeUnit.SECONDS)).isEqualTo("one+two");
        assertThat(passes.get()).isEqualTo(3);
        cpu.shutdown();
    }

    @Test void runHereFinishesOnTheCallingThreadWhenEveryAnswerIsCachedAndLeavesOnlyToWait() throws Exception {
        ManualSource dns = new ManualSource() {
            @Override public Dns.Answer<Record> cached(DnsReplay.Question q) {
                CompletableFuture<Dns.Answer<Record>> f = asked.get(q);
                return f != null && f.isDone() ? f.join() : null;
            }
        };
        AtomicInteger handedOff = new AtomicInteger();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        DnsReplay replay = new DnsReplay(dns, task -> {
            handedOff.incrementAndGet();
            pool.execute(task);
        }, Duration.ofSeconds(5));
        CompletableFuture<String> first = replay.runHere(() -> txt(dns, "a.test."));
        assertThat(first).isNotDone();
        dns.answer("a.test.", "one");
        assertThat(first.get(5, TimeUnit.SECONDS)).isEqualTo("one");
        int before = handedOff.get();
        CompletableFuture<String> second = replay.runHere(() -> txt(dns, "a.test."));
        assertThat(second).as("answered from the cache on this thread").isCompletedWithValue("one");
        assertThat(handedOff.get()).isEqualTo(before);
        pool.shutdown();
    }

    @Test void aRunWaitsAtMostItsBudgetInAllThenUnansweredQuestionsAreTemporaryFailures() throws Exception {
        ManualSource silent = new ManualSource();
        ExecutorService cpu = Executors.newSingleThreadExecutor();
        DnsReplay replay = new DnsReplay(silent, cpu, Duration.ofMillis(300));
        long t0 = System.nanoTime();
        // three questions one after the other: the budget is for all of them, not each
        String r = replay.run(() -> txt(silent, "a.test.") + txt(silent, "b.test.") + txt(silent, "c.test.")).get(5, TimeUnit.SECONDS);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r).isEqualTo("TEMPFAILTEMPFAILTEMPFAIL");
        assertThat(ms).isBetween(250L, 1_000L);
        cpu.shutdown();
    }

    @Test void aFailureInsideTheWorkFailsTheRunAndCodeOutsideARunAsksDirectly() throws Exception {
        ManualSource dns = new ManualSource();
        ExecutorService cpu = Executors.newSingleThreadExecutor();
        DnsReplay replay = new DnsReplay(dns, cpu, Duration.ofSeconds(5));
        CompletableFuture<String> r = replay.run(() -> {
            throw new IllegalStateException("bug");
        });
        assertThat(r).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withCauseInstanceOf(IllegalStateException.class);
        assertThat(DnsReplay.answers(dns, new DnsReplay.Question("a.test.", Type.TXT))).as("outside a run").isNull();
        cpu.shutdown();
    }
}
