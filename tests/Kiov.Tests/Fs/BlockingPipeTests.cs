using Kiov.Fs;
using static Kiov.Tests.Fs.FsFixture;

namespace Kiov.Tests.Fs;

/// <summary>
/// Pipes, splice and vmsplice with real threads that block: the paths single-threaded traces cannot
/// reach. Every wait is bounded: a thread still blocked at the deadline fails the test, and the
/// pipes' monitors are then pulsed until it comes out, so that a lost wakeup shows as a failure, not a hang.
/// </summary>
public class BlockingPipeTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <summary>Runs <paramref name="bodies"/> on threads of their own and waits for all of them.</summary>
    internal static void RunThreads(Pipe[] pipes, params Action[] bodies)
    {
        var errors = new List<Exception>();
        var threads = bodies.Select(b => new Thread(() =>
        {
            try { b(); }
            catch (Exception e) { lock (errors) errors.Add(e); }
        }) { IsBackground = true }).ToList();
        foreach (var t in threads) t.Start();
        var until = DateTime.UtcNow + Deadline;
        bool hung = false;
        foreach (var t in threads)
        {
            var left = until - DateTime.UtcNow;
            if (!t.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero)) hung = true;
        }
        if (hung)
        {
            // A lost wakeup: kick every sleeper so the threads finish and the fixture can clean up.
            for (int i = 0; i < 1000 && threads.Any(t => t.IsAlive); i++)
            {
                foreach (var p in pipes) lock (p.Lock) Monitor.PulseAll(p.Lock);
                Thread.Sleep(5);
            }
        }
        Assert.False(hung, "a thread stayed blocked: lost wakeup or deadlock");
        if (errors.Count != 0) throw new AggregateException(errors);
    }

    /// <summary>Waits until <paramref name="t"/> is asleep (in Monitor.Wait), so that what follows
    /// happens while it sleeps.</summary>
    internal static Thread StartAndWaitUntilAsleep(Action body, List<Exception> errors)
    {
        var t = new Thread(() =>
        {
            try { body(); }
            catch (Exception e) { lock (errors) errors.Add(e); }
        }) { IsBackground = true };
        t.Start();
        var until = DateTime.UtcNow + Deadline;
        while ((t.ThreadState & ThreadState.WaitSleepJoin) == 0 && t.IsAlive && DateTime.UtcNow < until) Thread.Sleep(1);
        return t;
    }

    [Fact]
    public void BlockingWriteLargerThanThePipeWakesAReaderAlreadyAsleep()
    {
        // anon_pipe_write wakes the readers before it sleeps on a full ring: a write of twice the
        // pipe's capacity completes while a reader drains it.
        using var k = new FsFixture();
        const int total = 128 * 1024;
        k.Map(A, 2 * total);
        var pattern = Enumerable.Range(0, total).Select(i => (byte)(i * 7 + 3)).ToArray();
        k.Poke(A, pattern);
        var (r, w) = k.Pipe(nonBlock: false);
        var pipe = k.PipeOf(r);
        var errors = new List<Exception>();
        long got = 0;
        var reader = StartAndWaitUntilAsleep(() =>
        {
            while (got < total)
            {
                long n = Syscalls.Read(k.P, r, A + total + (ulong)got, (ulong)(total - got));
                Assert.True(n > 0, $"read returned {n}");
                got += n;
            }
        }, errors);
        long wrote = 0;
        RunThreads([pipe], () => wrote = Syscalls.Write(k.P, w, A, total), () => reader.Join());
        Assert.Empty(errors);
        Assert.Equal(total, wrote);
        Assert.Equal(pattern, k.Peek(A + total, total));
    }
}
