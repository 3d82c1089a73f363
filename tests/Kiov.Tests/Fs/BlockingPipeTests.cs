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

    [Fact]
    public void ClosingTheWriteEndWakesASleepingReaderWithEof()
    {
        using var k = new FsFixture();
        k.Map(A, 4096);
        var (r, w) = k.Pipe(nonBlock: false);
        var pipe = k.PipeOf(r);
        var errors = new List<Exception>();
        long got = -1;
        var reader = StartAndWaitUntilAsleep(() => got = Syscalls.Read(k.P, r, A, 100), errors);
        Assert.Equal(0L, Syscalls.Close(k.P, w));
        RunThreads([pipe], () => reader.Join());
        Assert.Empty(errors);
        Assert.Equal(0L, got);
    }

    [Fact]
    public void ClosingTheReadEndWakesASleepingWriterWithTheBytesSoFar()
    {
        using var k = new FsFixture();
        k.Map(A, 0x30000);
        var (r, w) = k.Pipe(nonBlock: false);
        var pipe = k.PipeOf(r);
        var errors = new List<Exception>();
        long wrote = -1, more = 0;
        var writer = StartAndWaitUntilAsleep(() => wrote = Syscalls.Write(k.P, w, A, 0x20000), errors);
        Assert.Equal(0L, Syscalls.Close(k.P, r));
        RunThreads([pipe], () => writer.Join());
        more = Syscalls.Write(k.P, w, A, 1);
        Assert.Empty(errors);
        Assert.Equal(65536L, wrote);      // what fit before the reader went
        Assert.Equal(-Errno.EPIPE, more);
    }

    [Fact]
    public void BlockingSplicePipeToPipeWaitsForInputThenForRoom()
    {
        using var k = new FsFixture();
        k.Map(A, 0x40000);
        var (ar, aw) = k.Pipe(nonBlock: false);
        var (br, bw) = k.Pipe(nonBlock: false);
        Pipe a = k.PipeOf(ar), b = k.PipeOf(br);
        var errors = new List<Exception>();
        long first = -1;
        // Waits in ipipe_prep for data on an empty A.
        var splicer = StartAndWaitUntilAsleep(() => first = Syscalls.Splice(k.P, ar, null, bw, null, 1 << 20, 0), errors);
        Assert.Equal(100L, Syscalls.Write(k.P, aw, A, 100));
        RunThreads([a, b], () => splicer.Join());
        Assert.Equal(100L, first);
        // Fill B, then splice more: waits in opipe_prep until a reader makes room.
        Assert.Equal(15 * 4096L, Syscalls.Write(k.P, bw, A, 15 * 4096));
        Assert.Equal(16, b.Occupancy);
        Assert.Equal(4096L, Syscalls.Write(k.P, aw, A, 4096));
        long second = -1;
        var again = StartAndWaitUntilAsleep(() => second = Syscalls.Splice(k.P, ar, null, bw, null, 4096, 0), errors);
        Assert.Equal(100L, Syscalls.Read(k.P, br, A + 0x20000, 100));
        RunThreads([a, b], () => again.Join());
        Assert.Empty(errors);
        Assert.Equal(4096L, second);
    }

    [Fact]
    public void OppositeSplicesBetweenTwoPipesDoNotDeadlock()
    {
        // pipe_double_lock orders the two mutexes the same way for A->B and B->A.
        using var k = new FsFixture();
        k.Map(A, 0x10000);
        var (ar, aw) = k.Pipe(nonBlock: true);
        var (br, bw) = k.Pipe(nonBlock: true);
        Pipe a = k.PipeOf(ar), b = k.PipeOf(br);
        Assert.Equal(4096L, Syscalls.Write(k.P, aw, A, 4096));
        RunThreads([a, b],
            () => { for (int i = 0; i < 2000; i++) Syscalls.Splice(k.P, ar, null, bw, null, 4096, 0); },
            () => { for (int i = 0; i < 2000; i++) Syscalls.Splice(k.P, br, null, aw, null, 4096, 0); });
        Assert.Equal(4096L, a.Bytes + b.Bytes);
    }

    [Fact]
    public void BlockingVmspliceToAFullPipeWaitsForAReader()
    {
        using var k = new FsFixture();
        k.Map(A, 0x30000);
        var (r, w) = k.Pipe(nonBlock: false);
        var pipe = k.PipeOf(r);
        Assert.Equal(65536L, Syscalls.Write(k.P, w, A, 65536));
        var errors = new List<Exception>();
        long spliced = -1;
        var vms = StartAndWaitUntilAsleep(() => spliced = Syscalls.Vmsplice(k.P, w, [new(A + 0x20000, 8192)], 0), errors);
        Assert.Equal(4096L, Syscalls.Read(k.P, r, A + 0x10000, 4096));
        RunThreads([pipe], () => vms.Join());
        Assert.Empty(errors);
        Assert.Equal(4096L, spliced); // one slot was free: iter_to_pipe stops at a full ring
        Assert.Equal(-Errno.EAGAIN, Syscalls.Vmsplice(k.P, w, [new(A, 10)], SpliceFlags.NonBlock));
    }

    [Fact]
    public void BlockingVmspliceFromAnEmptyPipeWaitsForAWriter()
    {
        using var k = new FsFixture();
        k.Map(A, 0x10000);
        var (r, w) = k.Pipe(nonBlock: false);
        var pipe = k.PipeOf(r);
        var errors = new List<Exception>();
        long got = -1;
        var vms = StartAndWaitUntilAsleep(() => got = Syscalls.Vmsplice(k.P, r, [new(A + 0x8000, 4096)], 0), errors);
        k.Poke(A, [1, 2, 3]);
        Assert.Equal(3L, Syscalls.Write(k.P, w, A, 3));
        RunThreads([pipe], () => vms.Join());
        Assert.Empty(errors);
        Assert.Equal(3L, got);
        Assert.Equal(new byte[] { 1, 2, 3 }, k.Peek(A + 0x8000, 3));
    }

    [Fact]
    public void GrowingAFullPipeWakesASleepingWriter()
    {
        using var k = new FsFixture();
        k.Map(A, 0x30000);
        var (r, w) = k.Pipe(nonBlock: false);
        var pipe = k.PipeOf(r);
        Assert.Equal(65536L, Syscalls.Write(k.P, w, A, 65536));
        var errors = new List<Exception>();
        long wrote = -1;
        var writer = StartAndWaitUntilAsleep(() => wrote = Syscalls.Write(k.P, w, A, 4096), errors);
        Assert.Equal(131072L, Syscalls.Fcntl(k.P, w, Fcntl.SetPipeSize, 131072));
        RunThreads([pipe], () => writer.Join());
        Assert.Empty(errors);
        Assert.Equal(4096L, wrote);
        Assert.Equal(17, pipe.Occupancy);
        Assert.Equal(-Errno.EBUSY, Syscalls.Fcntl(k.P, w, Fcntl.SetPipeSize, 65536));
    }

    [Fact]
    public void BlockingSpliceFromAnEmptyPipeToAMemfdWaitsForAWriter()
    {
        using var k = new FsFixture();
        k.Map(A, 0x10000);
        int fd = (int)Syscalls.MemfdCreate(k.P, "m", 0);
        var (r, w) = k.Pipe(nonBlock: false);
        var pipe = k.PipeOf(r);
        var errors = new List<Exception>();
        long got = -1;
        var splicer = StartAndWaitUntilAsleep(() => got = Syscalls.Splice(k.P, r, null, fd, 0, 4096, 0), errors);
        Assert.Equal(5L, Syscalls.Write(k.P, w, A, 5));
        RunThreads([pipe], () => splicer.Join());
        Assert.Empty(errors);
        Assert.Equal(5L, got);
    }

    [Fact]
    public void BlockingSpliceFromAMemfdIntoAFullPipeWaitsForAReader()
    {
        using var k = new FsFixture();
        k.Map(A, 0x30000);
        int fd = (int)Syscalls.MemfdCreate(k.P, "m", 0);
        Assert.Equal(8192L, Syscalls.Write(k.P, fd, A, 8192));
        var (r, w) = k.Pipe(nonBlock: false);
        var pipe = k.PipeOf(r);
        Assert.Equal(65536L, Syscalls.Write(k.P, w, A, 65536));
        var errors = new List<Exception>();
        long got = -1;
        var splicer = StartAndWaitUntilAsleep(() => got = Syscalls.Splice(k.P, fd, 0, w, null, 8192, 0), errors);
        Assert.Equal(4096L, Syscalls.Read(k.P, r, A + 0x20000, 4096));
        RunThreads([pipe], () => splicer.Join());
        Assert.Empty(errors);
        Assert.Equal(4096L, got);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SpliceFromAMemfdWakesASleepingReader(bool iterPipe)
    {
        // splice_file_to_pipe wakes the pipe's readers when it moved something, whichever way the
        // file filled the pipe (add_to_pipe, or an ITER_PIPE iterator on 4.9-6.4).
        using var k = new FsFixture(iterPipe ? KernelConfig.Linux2017 : null);
        k.Map(A, 0x10000);
        int fd = (int)Syscalls.MemfdCreate(k.P, "m", 0);
        Assert.Equal(100L, Syscalls.Write(k.P, fd, A, 100));
        var (r, w) = k.Pipe(nonBlock: false);
        var pipe = k.PipeOf(r);
        var errors = new List<Exception>();
        long got = -1;
        var reader = StartAndWaitUntilAsleep(() => got = Syscalls.Read(k.P, r, A + 0x8000, 4096), errors);
        Assert.Equal(100L, Syscalls.Splice(k.P, fd, 0, w, null, 100, 0));
        RunThreads([pipe], () => reader.Join());
        Assert.Empty(errors);
        Assert.Equal(100L, got);
    }
}
