using Kiov.Cli;
using Kiov.Cli.Commands;
using Kiov.Trace;

namespace Kiov.Tests.Trace;

/// <summary>Traces replayed on the host kernel: the example of TRACE.md and every edge-case
/// trace must print their expected output (made by scripts/regen-expected.sh).</summary>
[Collection(HostCollection.Name)]
public class HostReplayTests
{
    public static TheoryData<string> Traces => new(TestPaths.TraceNames);

    private static (int Exit, string Stdout, string Stderr) Replay(ReplayCommand.Mode mode, string file, string stdin = "")
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = ReplayCommand.Run(mode, file, new StringReader(stdin), stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData(ReplayCommand.Mode.Host)]
    [InlineData(ReplayCommand.Mode.Model)]
    [InlineData(ReplayCommand.Mode.Diff)]
    public void Replay_prints_the_examples_expected_output(ReplayCommand.Mode mode)
    {
        string dir = Path.Combine(TestPaths.Shared, "traces");
        var (exit, stdout, stderr) = Replay(mode, Path.Combine(dir, "example.jsonl"));
        if (mode == ReplayCommand.Mode.Diff)
        {
            Assert.Equal(0, exit);
            return;
        }
        Assert.Equal("", stderr);
        Assert.Equal(0, exit);
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "example.expected.jsonl")), stdout);
    }

    [Theory]
    [MemberData(nameof(Traces))]
    public void Host_prints_the_expected_output(string name) => AssertPrintsExpected(ReplayCommand.Mode.Host, name);

    // Every edge-case trace prints on the model exactly what the host kernel printed.
    [Theory]
    [MemberData(nameof(Traces))]
    public void Model_prints_the_expected_output(string name) => AssertPrintsExpected(ReplayCommand.Mode.Model, name);

    private static void AssertPrintsExpected(ReplayCommand.Mode mode, string name)
    {
        var (exit, stdout, stderr) = Replay(mode, Path.Combine(TestPaths.Traces, name + ".jsonl"));
        Assert.Equal("", stderr);
        Assert.Equal(0, exit);
        Assert.Equal(File.ReadAllText(Path.Combine(TestPaths.Traces, name + ".expected.jsonl")), stdout);
    }

    [Fact]
    public void Replay_reads_standard_input_for_a_dash()
    {
        var (exit, stdout, _) = Replay(ReplayCommand.Mode.Host, "-", "{\"op\":\"pipe\"}\n# c\n{\"op\":\"close\",\"fd\":4}\n{\"op\":\"close\",\"fd\":4}\n");
        Assert.Equal(0, exit);
        Assert.Equal("{\"ret\":0,\"fds\":[3,4]}\n{\"ret\":0}\n{\"ret\":-9}\n", stdout);
    }

    [Fact]
    public void A_trace_error_is_one_line_naming_file_and_line_and_exit_2_with_nothing_run()
    {
        var (exit, stdout, stderr) = Replay(ReplayCommand.Mode.Host, "-", "{\"op\":\"pipe\"}\n\n{\"op\":\"pipe\",}\n");
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal("kiov: -:3: not valid JSON (column 14)\n", stderr);
    }

    [Fact]
    public void A_missing_file_is_exit_2()
    {
        var (exit, stdout, stderr) = Replay(ReplayCommand.Mode.Host, "/nonexistent/trace.jsonl");
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith("kiov: /nonexistent/trace.jsonl: cannot read", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Each_host_back_end_has_an_arena_of_its_own_in_its_own_executor()
    {
        using var first = new HostSyscalls();
        using var second = new HostSyscalls();
        Assert.Equal((long)TraceArena.Start, first.Mmap(TraceArena.Start, 4096, 3, 0x32, -1, 0));
        Assert.Equal((long)TraceArena.Start, second.Mmap(TraceArena.Start, 4096, 3, 0x32, -1, 0));
        Assert.Equal(4096, first.Fill(TraceArena.Start, 4096, 1));
        Assert.Equal(4096, second.Hash(TraceArena.Start, 4096, out ulong zeros));
        Assert.Equal(Fnv1a64.Hash(new byte[4096]), zeros);
    }

    [Fact]
    public void Fill_and_hash_are_chunked_exactly_like_one_call()
    {
        using var host = new HostSyscalls();
        const ulong a = TraceArena.Start;
        ulong len = 3 * (ulong)HostSyscalls.ChunkSize + 777;
        Assert.Equal((long)a, host.Mmap(a, len + 4096, 3, 0x32, -1, 0));
        Assert.Equal((long)len, host.Fill(a + 3, len, 11));
        byte[] expected = new byte[len];
        FillPattern.Generate(11, 0, expected);
        Assert.Equal((long)len, host.Hash(a + 3, len, out ulong hash));
        Assert.Equal(Fnv1a64.Hash(expected), hash);
        // A hole in the third chunk: both stop at its page boundary, with the bytes before.
        ulong hole = a + 2 * (ulong)HostSyscalls.ChunkSize + 8192;
        Assert.Equal(0, host.Munmap(hole, 4096));
        long upTo = (long)(hole - (a + 3));
        Assert.Equal(upTo, host.Fill(a + 3, len, 11));
        Assert.Equal(upTo, host.Hash(a + 3, len, out hash));
        Assert.Equal(Fnv1a64.Hash(expected.AsSpan(0, (int)upTo)), hash);
        Assert.Equal(-14, host.Hash(hole, 1, out _));
        Assert.Equal(-22, host.Fill(a, 1UL << 63, 1));
        Assert.Equal(0, host.Fill(0xffff888000000000, 0, 1));
    }
}
