using System.Diagnostics;
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
