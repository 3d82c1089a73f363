using Kiov.Cli;
using Kiov.Cli.Commands;
using Kiov.Trace;

namespace Kiov.Tests.Trace;

/// <summary>Traces replayed on the host kernel: the example of docs/trace-format.md and every edge-case
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
        string dir = TestPaths.Examples;
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

    // A trace whose output depends on a host setting says which setting its expected output was
    // recorded under, in a comment line "# host-setting: zero_page=shared" (or "none"). The model
    // replays it under that setting, whatever this host does; the host is held to the expected
    // output where it has the same setting, and otherwise to the model set up as the host is.
    private static void AssertPrintsExpected(ReplayCommand.Mode mode, string name)
    {
        string trace = Path.Combine(TestPaths.Traces, name + ".jsonl");
        string expected = File.ReadAllText(Path.Combine(TestPaths.Traces, name + ".expected.jsonl"));
        bool? recorded = RecordedZeroPage(trace);
        if (recorded is bool zero)
        {
            if (mode == ReplayCommand.Mode.Model)
            {
                Assert.Equal(expected, RunModel(trace, zero));
                return;
            }
            if (HostSettings.SharedZeroPage is bool here && here != zero)
                expected = RunModel(trace, here);
        }
        var (exit, stdout, stderr) = Replay(mode, trace);
        Assert.Equal("", stderr);
        Assert.Equal(0, exit);
        Assert.Equal(expected, stdout);
    }

    private static bool? RecordedZeroPage(string trace)
    {
        foreach (string line in File.ReadLines(trace))
        {
            if (!line.StartsWith('#')) break;
            const string Key = "# host-setting: zero_page=";
            if (line.StartsWith(Key, StringComparison.Ordinal))
                return line[Key.Length..].Split(' ')[0] == "shared";
        }
        return null;
    }

    private static string RunModel(string trace, bool sharedZeroPage)
    {
        using var reader = File.OpenText(trace);
        using var model = new ModelSyscalls(KernelConfig.Current with { SharedZeroPage = sharedZeroPage });
        var output = new StringWriter();
        TraceRunner.Run(TraceReader.Read(reader), model, output);
        return output.ToString();
    }

    [Fact]
    public void A_trace_that_depends_on_the_zero_page_says_so_and_differs_without_it()
    {
        string trace = Path.Combine(TestPaths.Traces, "zero-page-vmsplice-untouched.jsonl");
        Assert.True(RecordedZeroPage(trace));
        Assert.NotEqual(RunModel(trace, true), RunModel(trace, false));
    }

    [Fact]
    public void Replay_reads_standard_input_for_a_dash()
    {
        var (exit, stdout, _) = Replay(ReplayCommand.Mode.Host, "-", "{\"op\":\"pipe\"}\n# c\n{\"op\":\"close\",\"fd\":4}\n{\"op\":\"close\",\"fd\":4}\n");
        Assert.Equal(0, exit);
        Assert.Equal("{\"ret\":0,\"fds\":[3,4]}\n{\"ret\":0}\n{\"ret\":-9}\n", stdout);
    }

    [Fact]
    public void A_trace_error_is_one_line_naming_file_and_line_and_exit_2_after_the_lines_before_it_ran()
    {
        var (exit, stdout, stderr) = Replay(ReplayCommand.Mode.Host, "-", "{\"op\":\"pipe\"}\n\n{\"op\":\"pipe\",}\n");
        Assert.Equal(2, exit);
        Assert.Equal("{\"ret\":0,\"fds\":[3,4]}\n", stdout); // streamed: line 1 ran before line 3 was read
        Assert.Equal("kiov: -:3: not valid JSON (column 14)\n", stderr);
    }

    [Fact]
    public void A_missing_file_is_exit_2()
    {
        var (exit, stdout, stderr) = Replay(ReplayCommand.Mode.Host, "/nonexistent/trace.jsonl");
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith("kiov: \"/nonexistent/trace.jsonl\": no such file", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Each_host_back_end_has_an_arena_of_its_own_in_its_own_executor()
    {
        using var first = new HostSyscalls();
        using var second = new HostSyscalls();
        Assert.Equal((long)TraceArena.Start, first.Mmap(TraceArena.Start, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0));
        Assert.Equal((long)TraceArena.Start, second.Mmap(TraceArena.Start, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0));
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
        Assert.Equal((long)a, host.Mmap(a, len + 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0));
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
        Assert.Equal(-Errno.EFAULT, host.Hash(hole, 1, out _));
        Assert.Equal(-Errno.EINVAL, host.Fill(a, 1UL << 63, 1));
        Assert.Equal(0, host.Fill(0xffff888000000000, 0, 1));
    }
}
