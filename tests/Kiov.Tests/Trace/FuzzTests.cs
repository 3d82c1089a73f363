using System.Diagnostics;
using Kiov.Cli;
using Kiov.Trace;
using Kiov.Trace.Fuzz;

namespace Kiov.Tests.Trace;

public class FuzzTests
{
    private static readonly Func<IReadOnlyList<string>, TraceOutcome> Agreeing =
        t => TraceOutcome.InProcess(t, () => new FixedSyscalls(0));

    // Differs from Agreeing on every memfd line, and on nothing else.
    private static readonly Func<IReadOnlyList<string>, TraceOutcome> MemfdBroken =
        t => TraceOutcome.InProcess(t, () => new FixedSyscalls(0) { MemfdRet = -24 });

    [Fact]
    public void The_same_seed_gives_the_same_trace_and_another_seed_another()
    {
        List<string> a = TraceGenerator.Generate(42, 400), b = TraceGenerator.Generate(42, 400);
        Assert.Equal(400, a.Count);
        Assert.Equal(a, b);
        Assert.NotEqual(a, TraceGenerator.Generate(43, 400));
        Assert.NotEqual(FuzzRandom.ForRun(7, 0), FuzzRandom.ForRun(7, 1));
        Assert.Equal(FuzzRandom.ForRun(7, 5), FuzzRandom.ForRun(7, 5));
    }

    [Fact]
    public void Generated_traces_parse_and_keep_every_mapping_change_in_the_window_or_refused_early()
    {
        for (ulong seed = 0; seed < 20; seed++)
        {
            List<TraceOp> ops = TraceReader.Read(TraceGenerator.Generate(seed, 300));
            Assert.Equal(300, ops.Count);
            foreach (TraceOp op in ops)
            {
                (ulong addr, ulong len) = op switch
                {
                    MmapOp m => (m.Addr, m.Len),
                    MunmapOp m => (m.Addr, m.Len),
                    MprotectOp m => (m.Addr, m.Len),
                    MadviseOp m => (m.Addr, m.Len),
                    _ => (0UL, 0UL),
                };
                bool inArena = addr >= TraceArena.Start && len <= ArenaTracker.WindowEnd + (64UL << 12) - addr;
                bool refusedEarly = addr % 4096 != 0 || len >= ulong.MaxValue - 4095
                    || addr >= 0x800000000000 || (addr < 0x10000 && len <= 0x10000 - addr);
                Assert.True(inArena || refusedEarly, $"seed {seed}: {op}");
            }
        }
    }

    [Fact]
    public void The_shrinker_brings_a_divergence_down_to_the_one_line_that_differs()
    {
        List<string> trace = TraceGenerator.Generate(11, 300);
        Assert.Contains("{\"op\":\"memfd\"}", trace);
        bool Diverges(IReadOnlyList<string> t) => TraceOutcome.FirstDifference(MemfdBroken(t), Agreeing(t)) is not null;
        Assert.True(Diverges(trace));
        var result = TraceShrinker.Shrink(trace, Diverges, 1000);
        Assert.Equal(["{\"op\":\"memfd\"}"], result.Lines);
        Assert.True(result.Minimal);
        Assert.InRange(result.Steps, 1, 200);
    }

    [Fact]
    public void The_shrinker_stops_at_its_step_budget()
    {
        var result = TraceShrinker.Shrink(TraceGenerator.Generate(1, 100), _ => false, 7);
        Assert.Equal(7, result.Steps);
        Assert.False(result.Minimal);
        Assert.Equal(100, result.Lines.Count);
    }

    [Fact]
    public void A_session_counts_runs_writes_each_shrunk_divergence_and_sums_up_in_one_line()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"kiov-fuzz-test-{Guid.NewGuid():N}");
        try
        {
            var progress = new StringWriter();
            var options = new FuzzOptions(9, 200, 4, dir, 2);
            FuzzSummary differing = new FuzzSession(options, MemfdBroken, Agreeing, progress).Run();
            Assert.Equal("0 passed, 4 failed", differing.ToString());
            for (int run = 0; run < 4; run++)
            {
                string path = Path.Combine(dir, $"divergence-9-{run}");
                Assert.Equal("{\"op\":\"memfd\"}\n", File.ReadAllText(path + ".jsonl"));
                Assert.Equal("{\"ret\":-24}\n", File.ReadAllText(path + ".model.jsonl"));
                Assert.Equal("{\"ret\":0}\n", File.ReadAllText(path + ".host.jsonl"));
            }
            Assert.Contains("fuzz: 4/4 runs, 4 failed", progress.ToString());
            Assert.Equal("3 passed, 0 failed", new FuzzSession(options with { Runs = 3 }, Agreeing, Agreeing, TextWriter.Null).Run().ToString());
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_crash_is_a_failure_shrunk_as_a_crash_and_never_kept_while_shrinking_a_divergence()
    {
        var bad = TraceOutcome.InProcess(["{\"op\":\"nope\"}"], () => new FixedSyscalls(0));
        Assert.StartsWith("trace error: line 1", bad.Failure);
        // This model differs on memfd and crashes on munmap: a run whose first memfd comes first
        // is a divergence, shrunk without the crashing line; the others are crashes.
        Func<IReadOnlyList<string>, TraceOutcome> crashing = t => TraceOutcome.InProcess(t, () => new CrashOnMunmap());
        Assert.StartsWith("crash: InvalidOperationException: boom", crashing(["{\"op\":\"munmap\",\"addr\":0,\"len\":1}"]).Failure);
        string dir = Path.Combine(Path.GetTempPath(), $"kiov-fuzz-test-{Guid.NewGuid():N}");
        try
        {
            var summary = new FuzzSession(new FuzzOptions(4, 300, 10, dir, 2), crashing, Agreeing, TextWriter.Null).Run();
            Assert.Equal("0 passed, 10 failed", summary.ToString());
            var kinds = new HashSet<string>();
            for (int run = 0; run < 10; run++)
            {
                string path = Path.Combine(dir, $"divergence-4-{run}");
                string trace = File.ReadAllText(path + ".jsonl"), model = File.ReadAllText(path + ".model.jsonl");
                if (trace == "{\"op\":\"memfd\"}\n")
                {
                    Assert.Equal("{\"ret\":-24}\n", model);
                    kinds.Add("divergence");
                }
                else
                {
                    Assert.StartsWith("{\"op\":\"munmap\"", trace);
                    Assert.Single(trace.TrimEnd('\n').Split('\n'));
                    Assert.Equal("# crash: InvalidOperationException: boom\n", model);
                    kinds.Add("crash");
                }
            }
            Assert.Equal(2, kinds.Count);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class CrashOnMunmap : ISyscalls
    {
        private readonly FixedSyscalls _inner = new(0);
        public long Mmap(ulong addr, ulong len, int prot, int flags, int fd, long offset) => 0;
        public long Munmap(ulong addr, ulong len) => throw new InvalidOperationException("boom");
        public long Mprotect(ulong addr, ulong len, int prot) => 0;
        public long Madvise(ulong addr, ulong len, int advice) => 0;
        public long Fill(ulong addr, ulong len, uint seed) => 0;
        public long Hash(ulong addr, ulong len, out ulong hash) => _inner.Hash(addr, len, out hash);
        public long Pipe(out int readFd, out int writeFd) => _inner.Pipe(out readFd, out writeFd);
        public long Memfd() => -24;
        public long Ftruncate(int fd, long len) => 0;
        public long Close(int fd) => 0;
        public long Read(int fd, ulong addr, ulong len) => 0;
        public long Write(int fd, ulong addr, ulong len) => 0;
        public long Readv(int fd, ReadOnlySpan<Kiov.Iov.IoVec> iov) => 0;
        public long Writev(int fd, ReadOnlySpan<Kiov.Iov.IoVec> iov) => 0;
        public long Preadv(int fd, ReadOnlySpan<Kiov.Iov.IoVec> iov, long offset) => 0;
        public long Pwritev(int fd, ReadOnlySpan<Kiov.Iov.IoVec> iov, long offset) => 0;
        public long ProcessVmReadv(ReadOnlySpan<Kiov.Iov.IoVec> local, ReadOnlySpan<Kiov.Iov.IoVec> remote) => 0;
        public long ProcessVmWritev(ReadOnlySpan<Kiov.Iov.IoVec> local, ReadOnlySpan<Kiov.Iov.IoVec> remote) => 0;
        public long Vmsplice(int fd, ReadOnlySpan<Kiov.Iov.IoVec> iov) => 0;
        public long Splice(int fdIn, long? offIn, int fdOut, long? offOut, ulong len) => 0;
        public long Memfd(uint flags) => -24;
        public long Reopen(int fd, int flags) => 0;
        public long Dup(int fd) => 0;
        public long Lseek(int fd, long offset, int whence) => 0;
        public long Fcntl(int fd, int cmd, ulong arg) => 0;
        public long Tee(int fdIn, int fdOut, ulong len) => 0;
        public long Preadv2(int fd, ReadOnlySpan<Kiov.Iov.IoVec> iov, long offset, int flags) => 0;
        public long Pwritev2(int fd, ReadOnlySpan<Kiov.Iov.IoVec> iov, long offset, int flags) => 0;
        public long VectorAt(VectorCall call, int fd, ulong iovAddr, ulong iovcnt, long offset, int flags) => 0;
        public long ProcessVmAt(bool write, ulong localAddr, ulong localCnt, ulong remoteAddr, ulong remoteCnt) => 0;
        public long Poke(ulong addr, ReadOnlySpan<byte> bytes) => 0;
        public long Mremap(ulong addr, ulong oldLen, ulong newLen, int flags, ulong newAddr) => 0;
        public long Mlock(ulong addr, ulong len) => 0;
        public long Munlock(ulong addr, ulong len) => 0;
        public long Msync(ulong addr, ulong len, int flags) => 0;
        public long Mincore(ulong addr, ulong len, Span<byte> vec) => 0;
        public void Dispose() { }
    }

    private static (int Exit, string Stdout, string Stderr) Kiov(params string[] args)
    {
        using var child = Process.Start(HostChild.StartInfo(args))!;
        child.StandardInput.Close();
        var stdout = child.StandardOutput.ReadToEndAsync();
        string stderr = child.StandardError.ReadToEnd();
        child.WaitForExit();
        return (child.ExitCode, stdout.Result, stderr);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--ops", "0")]
    [InlineData("--runs", "abc")]
    [InlineData("--jobs", "-1")]
    [InlineData("--seed", "-5")]
    public void Bad_fuzz_options_are_one_line_on_stderr_and_exit_2(params string[] options)
    {
        var (exit, stdout, stderr) = Kiov(["fuzz", .. options]);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith("kiov: ", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void A_host_executor_pool_replays_traces_each_from_a_fresh_start()
    {
        using var pool = new HostExecutorPool();
        for (int i = 0; i < 2; i++)
        {
            var outcome = pool.Replay(["{\"op\":\"pipe\"}", "{\"op\":\"close\",\"fd\":9}"]);
            Assert.True(outcome.Completed, outcome.Failure);
            Assert.Equal(["{\"ret\":0,\"fds\":[3,4]}", "{\"ret\":-9}"], outcome.Lines);
        }
        var bad = pool.Replay(["{\"op\":\"pipe\",}"]);
        Assert.StartsWith("trace error: line 1: not valid JSON", bad.Failure);
    }

    [Fact]
    public void A_tiny_fuzz_run_on_the_model_and_the_real_host_agrees()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"kiov-fuzz-e2e-{Guid.NewGuid():N}");
        try
        {
            var (exit, stdout, stderr) = Kiov("fuzz", "--seed", "5", "--runs", "3", "--ops", "50", "--out", dir);
            Assert.Equal("3 passed, 0 failed\n", stdout);
            Assert.Equal(0, exit);
            Assert.Contains("fuzz: 3/3 runs, 0 failed", stderr);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_models_outcome_says_where_its_physical_memory_ran_out()
    {
        string[] trace =
        [
            "{\"op\":\"mmap\",\"addr\":\"0x100000000000\",\"len\":16777216,\"prot\":\"rw\",\"flags\":[\"private\",\"anonymous\",\"fixed\"]}",
            "{\"op\":\"fill\",\"addr\":\"0x100000000000\",\"len\":16777216,\"seed\":1}",
            "{\"op\":\"munmap\",\"addr\":\"0x100000000000\",\"len\":16777216}",
        ];
        var small = TraceOutcome.InProcess(trace, () => new ModelSyscalls(memoryBytes: 8L << 20));
        Assert.True(small.Completed, small.Failure);
        Assert.Equal(1, small.OutOfMemoryAt);
        Assert.NotEqual("{\"ret\":16777216}", small.Lines[1]);
        var big = TraceOutcome.InProcess(trace, () => new ModelSyscalls(memoryBytes: 64L << 20));
        Assert.True(big.Completed, big.Failure);
        Assert.Null(big.OutOfMemoryAt);
        Assert.Equal("{\"ret\":16777216}", big.Lines[1]);
    }
}
