using System.Diagnostics;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Mm;

public class ConcurrencyTests
{
    private const ulong A = KernelFixture.Arena;
    private const int Pg = 4096, Pages = 64;
    private const byte Written = 0xa5;

    [Fact]
    public void ReadersFaultingWhileAWriterMapsUnmapsProtectsAndAdvises()
    {
        var k = new KernelFixture(); // disposed at the end, so that a leak report never hides the first failure
        k.MapAnon(A, Pages * Pg);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew(); // how long to run, never asserted on
        long copies = 0, shortCopies = 0, writerOps = 0;

        void Guard(Action body)
        {
            try { body(); }
            catch (Exception e) { failures.Enqueue(e.ToString()); stop.Cancel(); }
        }

        Thread Reader(int seed) => new(() => Guard(() =>
        {
            var rng = new Random(seed);
            var buf = new byte[3 * Pg];
            while (!stop.IsCancellationRequested)
            {
                int start = rng.Next(0, Pages * Pg - 1);
                int len = rng.Next(1, Math.Min(3 * Pg, Pages * Pg - start) + 1);
                ulong addr = A + (ulong)start;
                int op = rng.Next(3);
                ulong left = op switch
                {
                    0 => UserAccess.CopyToUser(k.Mm, addr, buf.AsSpan(0, len)),
                    1 => UserAccess.ClearUser(k.Mm, addr, (ulong)len),
                    _ => UserAccess.CopyFromUser(k.Mm, buf.AsSpan(0, len), addr),
                };
                ulong done = (ulong)len - left;
                // Legal: everything, nothing, or up to a page boundary where an access failed.
                if (left > (ulong)len || (left != 0 && done != 0 && ((addr + done) & (Pg - 1)) != 0))
                    failures.Enqueue($"op {op} at +{start} len {len}: {left} not copied");
                if (op == 2)
                {
                    // User memory only ever holds zeros (fresh or cleared pages) and what the readers wrote:
                    // anything else (0x6b is the free poison) was read from a page freed under the copy.
                    int bad = buf.AsSpan(0, (int)done).IndexOfAnyExcept(Written, (byte)0);
                    if (bad >= 0) failures.Enqueue($"read 0x{buf[bad]:x2} at +{start + bad}");
                    if (buf.AsSpan((int)done, len - (int)done).IndexOfAnyExcept((byte)0) >= 0)
                        failures.Enqueue($"copy_from_user at +{start} len {len} left its tail unzeroed");
                    buf.AsSpan().Fill(Written);
                }
                Interlocked.Increment(ref copies);
                if (left != 0) Interlocked.Increment(ref shortCopies);
                if (!failures.IsEmpty) stop.Cancel();
            }
        }));

        var writer = new Thread(() => Guard(() =>
        {
            var rng = new Random(99);
            int[] prots = [Prot.Read | Prot.Write, Prot.Read, Prot.None];
            while (!stop.IsCancellationRequested && clock.Elapsed < TimeSpan.FromSeconds(3))
            {
                int lo = rng.Next(Pages), n = rng.Next(1, Pages - lo + 1);
                ulong addr = A + (ulong)lo * Pg, len = (ulong)n * Pg;
                long r = rng.Next(5) switch
                {
                    0 => k.Mm.Mmap(addr, len, prots[rng.Next(3)], MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed) - (long)addr,
                    1 => k.Mm.Munmap(addr, len),
                    2 => k.Mm.Mprotect(addr, len, prots[rng.Next(3)]),
                    3 => k.Mm.Madvise(addr, len, Madv.DontNeed),
                    _ => k.Mm.Mmap(addr, len, Prot.Read | Prot.Write, MapFlags.Shared | MapFlags.Anonymous | MapFlags.Fixed) - (long)addr,
                };
                if (r != 0 && r != -Errno.ENOMEM) failures.Enqueue($"writer op returned {r}");
                writerOps++;
            }
            stop.Cancel();
        }));

        Thread[] readers = [Reader(1), Reader(2)];
        foreach (var t in readers) t.Start();
        writer.Start();
        writer.Join();
        foreach (var t in readers) t.Join();

        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(5)));
        Assert.True(copies > 0 && writerOps > 0);
        k.Mm.CheckInvariants();
        k.Dispose(); // checks that no frame leaked
    }

    [Fact]
    public void SynchronizeWaitsForAWalkerInsideTheGateAndOnlyForIt()
    {
        var gate = new WalkerGate();
        int early = gate.Enter();
        int epoch = gate.Epoch;
        bool returned = false;
        var sync = new Thread(() => { gate.Synchronize(); Volatile.Write(ref returned, true); });
        sync.Start();
        SpinWait.SpinUntil(() => gate.Epoch != epoch); // the grace period has begun
        // A walker that enters now saw the new epoch: the grace period does not wait for it.
        int late = gate.Enter();
        Assert.False(Volatile.Read(ref returned));
        Assert.False(sync.Join(50)); // still waiting for the early walker (a chance to run, not a timing assertion)
        Assert.False(Volatile.Read(ref returned));
        gate.Exit(early);
        sync.Join();
        Assert.True(Volatile.Read(ref returned));
        Assert.Equal(1, gate.GracePeriods);
        gate.Exit(late);
        gate.Synchronize(); // nobody inside: returns at once
        Assert.Equal(2, gate.GracePeriods);
    }
}
