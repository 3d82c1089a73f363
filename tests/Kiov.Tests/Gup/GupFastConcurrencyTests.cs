using System.Diagnostics;
using Kiov.Concurrency;
using Kiov.Gup;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;
using static Kiov.Tests.Gup.GupTestHelpers;

namespace Kiov.Tests.Gup;

// Every test here sets the process-wide walk hook, so they run one at a time (xunit runs a class's
// tests sequentially); the hook also ignores walks of any thread but the test's own.
public class GupFastConcurrencyTests
{
    public enum Mutation { Munmap, MprotectReadOnly, MprotectNone, MadviseDontNeed }

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    // A started thread whose exception, if any, is rethrown by Join (Task.Wait is not for test methods).
    private sealed class Worker
    {
        private readonly Thread _thread;
        private Exception? _error;
        private volatile bool _done;

        public Worker(Action body)
        {
            _thread = new Thread(() => { try { body(); } catch (Exception e) { _error = e; } finally { _done = true; } }) { IsBackground = true };
            _thread.Start();
        }

        public bool IsCompleted => _done;

        public void Join()
        {
            Assert.True(_thread.Join(Patience), "worker thread hung");
            if (_error != null) throw new AggregateException(_error);
        }
    }

    private static void Mutate(KernelFixture k, Mutation m, ulong addr)
    {
        int r = m switch
        {
            Mutation.Munmap => k.Mm.Munmap(addr, P),
            Mutation.MprotectReadOnly => k.Mm.Mprotect(addr, P, Prot.Read),
            Mutation.MprotectNone => k.Mm.Mprotect(addr, P, Prot.None),
            _ => k.Mm.Madvise(addr, P, Madv.DontNeed),
        };
        Assert.Equal(0, r);
    }

    public static TheoryData<GupFastStep, Mutation, bool> Interleavings()
    {
        var d = new TheoryData<GupFastStep, Mutation, bool>();
        foreach (var s in Enum.GetValues<GupFastStep>())
            foreach (var m in Enum.GetValues<Mutation>())
                foreach (bool pin in new[] { true, false }) d.Add(s, m, pin);
        return d;
    }

    /// <summary>
    /// The walker, inside the gate at <paramref name="step"/> for page 1 of 4, starts the mutation of that
    /// page on another thread and goes on only once the mutation has changed the entry and entered
    /// Synchronize (the gate's epoch moved): Synchronize cannot finish while the walker is inside, and the
    /// walker must either see the change at its re-check (and drop the page) or keep a page that stays
    /// valid because it holds it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Interleavings))]
    public void FastWalkInterleavedWithAMutationAtEveryStep(GupFastStep step, Mutation m, bool pin)
    {
        using var k = new KernelFixture();
        MapFilled(k, 4, 0xa5);
        ulong target = A + P;
        Page original = Mapped(k, target);
        int walker = Environment.CurrentManagedThreadId;
        Worker? mutation = null;
        bool fired = false, epochMoved = false, finishedInsideGate = false;
        UserPages.FastStepHook = (s, addr) =>
        {
            if (Environment.CurrentManagedThreadId != walker || s != step || addr != target || fired) return;
            fired = true;
            int epoch = k.Kernel.Gate.Epoch;
            mutation = new Worker(() => Mutate(k, m, target));
            epochMoved = SpinWait.SpinUntil(() => k.Kernel.Gate.Epoch != epoch, Patience);
            for (int i = 0; i < 50; i++) Thread.Yield();          // give a wrongly early Synchronize every chance
            finishedInsideGate = mutation.IsCompleted;
        };
        var pages = new Page[4];
        int n;
        try { n = pin ? UserPages.PinUserPagesFast(k.Mm, A, 4, Foll.Write, pages) : UserPages.GetUserPagesFast(k.Mm, A, 4, Foll.Write, pages); }
        finally { UserPages.FastStepHook = null; }
        try { CheckInterleaving(k, step, m, pin, fired, mutation, epochMoved, finishedInsideGate, n, pages, original); }
        finally
        {
            // Give back what the walk took even when a check failed, so the fixture's leak report
            // does not hide the failing check.
            if (pages[0] != default) { if (pin) Unpin(k, pages, n); else Put(k, pages, n); }
        }
        Assert.Equal(k.Kernel.Counters.PinsAcquired, k.Kernel.Counters.PinsReleased);
    }

    private static void CheckInterleaving(KernelFixture k, GupFastStep step, Mutation m, bool pin, bool fired, Worker? mutation,
        bool epochMoved, bool finishedInsideGate, int n, Page[] pages, Page original)
    {
        Assert.True(fired);
        mutation!.Join();
        Assert.True(epochMoved, "the mutation never reached Synchronize");
        Assert.False(finishedInsideGate, "Synchronize returned while the walker was inside the gate");

        bool kept = step == GupFastStep.AfterRecheck;
        int expected = kept || m == Mutation.MadviseDontNeed ? 4 : 1;
        Assert.Equal(expected, n);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(PageFlags.None, k.Memory.Flags(pages[i]) & PageFlags.Free);
            Assert.True(k.Memory.Span(pages[i]).IndexOf(PhysicalMemory.PoisonByte) < 0, "a poisoned byte was read");
        }
        if (n > 1 && kept)
        {
            Assert.Equal(original, pages[1]);
            Assert.True(k.Memory.Span(pages[1]).IndexOfAnyExcept((byte)0xa5) < 0);
        }
        // A page dropped at the re-check is replaced by the slow path's fault: after DONTNEED a fresh
        // zero page. (Not "a different frame": the freed frame may well be the one allocated next.)
        if (n > 1 && !kept) Assert.True(k.Memory.Span(pages[1]).IndexOfAnyExcept((byte)0) < 0, "the old page was kept");
    }

    /// <summary>
    /// Two threads: a mapper churns a 16-page range with mmap/munmap/mprotect/madvise while this thread
    /// makes 100,000 GUP calls over it. Every page handed out must be allocated and unpoisoned, and
    /// everything taken is given back: pins balance and the fixture finds no leaked frame.
    /// </summary>
    [Fact]
    public void RandomizedStressAgainstAMapperThread()
    {
        const int Pages = 16, Calls = 100_000;
        using var k = new KernelFixture();
        MapFilled(k, Pages, 0x3c);
        var pattern = new byte[Pages * P];
        pattern.AsSpan().Fill(0x3c);
        using var stop = new CancellationTokenSource();
        long mapperOps = 0;
        var mapper = new Worker(() =>
        {
            var rng = new Random(1234);
            while (!stop.IsCancellationRequested)
            {
                int first = rng.Next(Pages), count = rng.Next(1, Pages - first + 1);
                ulong at = A + (ulong)(first * P), len = (ulong)(count * P);
                switch (rng.Next(5))
                {
                    case 0: k.Mm.Munmap(at, len); break;
                    case 1: k.Mm.Mprotect(at, len, rng.Next(3) switch { 0 => Prot.None, 1 => Prot.Read, _ => RW }); break;
                    case 2: k.Mm.Madvise(at, len, Madv.DontNeed); break;
                    default:
                        k.Mm.Mmap(at, len, RW, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed);
                        UserAccess.CopyToUser(k.Mm, at, pattern.AsSpan(0, (int)len));
                        break;
                }
                mapperOps++;
            }
        });

        var rng = new Random(42);
        var pages = new Page[8];
        long obtained = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            for (int call = 0; call < Calls; call++)
            {
                int first = rng.Next(Pages), n = rng.Next(1, Math.Min(8, Pages - first) + 1);
                ulong start = A + (ulong)(first * P);
                Foll flags = rng.Next(2) == 0 ? Foll.Write : 0;
                int kind = rng.Next(8);
                bool pin = kind < 5;
                long got = kind switch
                {
                    < 4 => UserPages.PinUserPagesFast(k.Mm, start, n, flags, pages),
                    4 => UserPages.PinUserPagesUnlocked(k.Mm, start, n, flags, pages),
                    5 => UserPages.GetUserPagesFastOnly(k.Mm, start, n, flags, pages),
                    _ => UserPages.GetUserPagesFast(k.Mm, start, n, flags, pages),
                };
                Assert.True(got <= n && (got > 0 || got == -Errno.EFAULT || (got == 0 && kind == 5)), $"call {call} returned {got}");
                for (int i = 0; i < got; i++)
                {
                    Assert.Equal(PageFlags.None, k.Memory.Flags(pages[i]) & PageFlags.Free);
                    Assert.True(k.Memory.Span(pages[i]).IndexOf(PhysicalMemory.PoisonByte) < 0, $"call {call}: poison in {pages[i]}");
                }
                if (pin) Unpin(k, pages, got); else Put(k, pages, got);
                if (got > 0) obtained += got;
            }
        }
        finally
        {
            stop.Cancel();
            mapper.Join();
        }
        Assert.True(obtained > Calls / 4, $"only {obtained} pages were obtained; the stress hardly ran");
        Assert.True(mapperOps > 100, $"the mapper made only {mapperOps} changes");
        Assert.Equal(k.Kernel.Counters.PinsAcquired, k.Kernel.Counters.PinsReleased);
        Assert.Equal(0, k.Mm.Munmap(A, Pages * P));
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2));
    }
}

/// <summary>
/// The same races as <see cref="GupFastConcurrencyTests"/>, but every interleaving of them: the explorer
/// runs the walker and the mm change under the model's scheduler, switching at every lock, gate, entry,
/// reference and fault, each schedule on a fresh leak-checked machine. Each of the model's race fixes is
/// then turned off in turn, and the explorer must find the race it fixes within the default budget.
/// </summary>
public class GupFastSystematicTests
{
    internal const int Budget = 10_000;

    /// <summary>The explorer over fresh fixtures: the first schedule where a thread threw, a thread could
    /// not finish, or the machine leaked; null when none did.</summary>
    internal static (string? Failure, int Runs, bool Complete) Explore(Func<KernelFixture, Action[]> setup, RaceFix off = RaceFix.None, int budget = Budget)
    {
        var explorer = new Explorer();
        while (explorer.Runs < budget && explorer.NextRun() is { } policy)
        {
            var k = new KernelFixture(KernelConfig.Current, 4L << 20); // small: one machine per schedule
            var controller = new Controller(policy) { FixesOff = off };
            RunStatus status = controller.Run(setup(k));
            string? error = controller.Threads.Select(t => t.Error?.Message).FirstOrDefault(e => e != null);
            if (status != RunStatus.Completed) error ??= status.ToString();
            try { k.Dispose(); }
            catch (Exception e) { error ??= e.Message; }
            if (error != null) return ($"run {explorer.Runs}, schedule {Schedule.Format(policy.Choices)}: {error}", explorer.Runs, false);
        }
        return (null, explorer.Runs, explorer.Finished);
    }

    // The walker: GUP-fast over 2 pages; every page it returns must be allocated, unpoisoned, and (the
    // re-check's promise) still mapped by the entry it was read from when the reference was taken.
    private static Action Walker(KernelFixture k, bool pin)
    {
        var readAt = new Dictionary<ulong, ulong>();
        var mappedAtRef = new Dictionary<ulong, bool>();
        return () =>
        {
            int me = Environment.CurrentManagedThreadId;
            UserPages.FastStepHook = (s, addr) =>
            {
                if (Environment.CurrentManagedThreadId != me) return;
                ulong now = Sched.Quietly(() => k.Mm.ReadPte(addr));
                if (s == GupFastStep.AfterEntryRead) readAt[addr] = now;
                else if (s == GupFastStep.AfterSpeculativeRef) mappedAtRef[addr] = now == readAt[addr];
                else Assert.True(mappedAtRef[addr], $"GUP-fast kept the page of 0x{addr:x} though its entry changed before the reference");
            };
            var pages = new Page[2];
            int n;
            try { n = pin ? UserPages.PinUserPagesFast(k.Mm, A, 2, Foll.Write, pages) : UserPages.GetUserPagesFast(k.Mm, A, 2, Foll.Write, pages); }
            finally { UserPages.FastStepHook = null; }
            try
            {
                for (int i = 0; i < n; i++)
                {
                    Assert.Equal(PageFlags.None, k.Memory.Flags(pages[i]) & PageFlags.Free);
                    Assert.True(k.Memory.Span(pages[i]).IndexOf(PhysicalMemory.PoisonByte) < 0, "a poisoned byte was read");
                }
            }
            finally { if (pin) Unpin(k, pages, n); else Put(k, pages, n); }
        };
    }

    private static Action Mutation(KernelFixture k, GupFastConcurrencyTests.Mutation m) => () =>
    {
        int r = m switch
        {
            GupFastConcurrencyTests.Mutation.Munmap => k.Mm.Munmap(A + P, P),
            GupFastConcurrencyTests.Mutation.MprotectReadOnly => k.Mm.Mprotect(A + P, P, Prot.Read),
            GupFastConcurrencyTests.Mutation.MprotectNone => k.Mm.Mprotect(A + P, P, Prot.None),
            _ => k.Mm.Madvise(A + P, P, Madv.DontNeed),
        };
        Assert.Equal(0, r);
    };

    public static TheoryData<GupFastConcurrencyTests.Mutation, bool> Cases()
    {
        var d = new TheoryData<GupFastConcurrencyTests.Mutation, bool>();
        foreach (var m in Enum.GetValues<GupFastConcurrencyTests.Mutation>())
            foreach (bool pin in new[] { true, false }) d.Add(m, pin);
        return d;
    }

    /// <summary>Each GUP-fast step (every entry read, reference, re-check, gate entry and exit, and the
    /// slow path's fault) against each mm change, in every order the scheduler can make.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void GupFastAgainstAnMmChangeInEveryInterleaving(GupFastConcurrencyTests.Mutation m, bool pin)
    {
        var (failure, runs, complete) = Explore(k => { MapFilled(k, 2, 0xa5); return [Walker(k, pin), Mutation(k, m)]; });
        Assert.Null(failure);
        Assert.True(complete, $"the search was cut after {runs} runs");
        Assert.True(runs > 1);
    }

    /// <summary>Without the re-check after the speculative reference, some order keeps a page whose entry
    /// was changed (DONTNEED zapped it) before the reference was taken.</summary>
    [Fact]
    public void WithoutTheRecheckTheExplorerFindsAStalePage()
    {
        var (failure, _, _) = Explore(k => { MapFilled(k, 2, 0xa5); return [Walker(k, true), Mutation(k, GupFastConcurrencyTests.Mutation.MadviseDontNeed)]; }, RaceFix.GupFastRecheck);
        Assert.NotNull(failure);
        Assert.Contains("entry changed before the reference", failure);
    }

    /// <summary>Without the walker gate's deferred free, munmap of the whole table frees the page table
    /// while the walker is still inside the gate: some order reads an entry of a freed table.</summary>
    [Fact]
    public void WithoutTheDeferredFreeTheExplorerFindsAFreedTable()
    {
        var (failure, _, _) = Explore(k =>
        {
            MapFilled(k, 2, 0xa5);
            var pages = new Page[2];
            return [() => { int n = UserPages.GetUserPagesFast(k.Mm, A, 2, Foll.Write, pages); Put(k, pages, n); }, () => Assert.Equal(0, k.Mm.Munmap(A, 2 * P))];
        }, RaceFix.GateDeferredFree);
        Assert.NotNull(failure);
    }

    // A write to a write-protected anonymous page (read in, so clean; mprotect gives the write bit back
    // only to dirty entries) against madvise(DONTNEED) of it and the page after it, under the same read lock.
    private static Action[] WpAgainstDontNeed(KernelFixture k)
    {
        k.MapAnon(A, 2 * P);
        Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, new byte[2 * P], A));
        Assert.Equal(0, k.Mm.Mprotect(A, 2 * P, Prot.Read));
        Assert.Equal(0, k.Mm.Mprotect(A, 2 * P, RW));
        Assert.True((k.Mm.ReadPte(A) & (Pte.Present | Pte.Write)) == Pte.Present, "the entry is not write-protected");
        return
        [
            () => Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A, new byte[] { 1 })),
            () => Assert.Equal(0, k.Mm.Madvise(A, 2 * P, Madv.DontNeed)),
        ];
    }

    /// <summary>The do_wp_page race of commit 8810b11: with the hold, no order within the budget goes wrong.</summary>
    [Fact]
    public void WpPageAgainstDontNeedIsSafe()
    {
        var (failure, runs, complete) = Explore(WpAgainstDontNeed, budget: 5_000);
        Assert.Null(failure);
        Assert.True(complete || runs == 5_000);
    }

    /// <summary>Without the hold, DONTNEED frees the page between the fault's look at the entry and its
    /// look at the page: the fault takes the freed anonymous page for a file page and copies it, and the
    /// frame allocator (which has handed out the second zapped frame) shows the copy reading a freed frame.</summary>
    [Fact]
    public void WithoutTheHoldTheExplorerFindsTheWpPageUseAfterFree()
    {
        var (failure, _, _) = Explore(WpAgainstDontNeed, RaceFix.WpPageHold);
        Assert.NotNull(failure);
        Assert.Contains("use after free", failure);
    }
}
