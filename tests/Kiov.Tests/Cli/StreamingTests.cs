using Kiov.Cli;
using Kiov.Cli.Commands;
using Kiov.Tests.Trace;
using Kiov.Trace;
using static Kiov.Tests.Cli.KiovProcess;

namespace Kiov.Tests.Cli;

/// <summary>Issue 16: a trace is streamed, each line answered before the next is read.</summary>
[Collection(HostCollection.Name)]
public class StreamingTests
{
    [Theory]
    [InlineData("replay -")]
    [InlineData("replay --host -")]
    public async Task A_line_written_to_standard_input_is_answered_before_the_next_is_sent(string command)
    {
        using var p = Start(command);
        var stderr = p.StandardError.ReadToEndAsync();
        foreach (string fds in new[] { "[3,4]", "[5,6]", "[7,8]" })
        {
            await p.StandardInput.WriteAsync("{\"op\":\"pipe\"}\n# a comment\n");
            await p.StandardInput.FlushAsync();
            string? answer = await p.StandardOutput.ReadLineAsync().WaitAsync(Patience);
            Assert.Equal($"{{\"ret\":0,\"fds\":{fds}}}", answer);
        }
        p.StandardInput.Close();
        Assert.Null(await p.StandardOutput.ReadLineAsync().WaitAsync(Patience));
        await p.WaitForExitAsync().WaitAsync(Patience);
        Assert.Equal(0, p.ExitCode);
        string said = await stderr;
        Assert.True(said == "" || (said.StartsWith(KiovProcess.Result.HostSettingsLine, StringComparison.Ordinal) && said.IndexOf('\n') == said.Length - 1),
            $"standard error holds more than the host settings line: {said}");
    }

    [Fact]
    public void Diff_runs_both_back_ends_line_by_line_and_stops_at_the_first_bad_line_after_running_those_before()
    {
        var r = Run("replay --diff -", "{\"op\":\"pipe\"}\n{\"op\":\"close\",\"fd\":3}\n{\"op\":\"frob\"}\n");
        AssertOneLineError(r, 2, "-:3: unknown op \"frob\"");
    }

    // 64 MiB of model memory; the trace puts 16 MiB in the arena and 64 MiB in a memfd.
    private const string Exhausting =
            "{\"op\":\"mmap\",\"addr\":\"0x100000000000\",\"len\":16777216,\"prot\":\"rw\",\"flags\":[\"private\",\"anonymous\",\"fixed\"]}\n" +
            "{\"op\":\"fill\",\"addr\":\"0x100000000000\",\"len\":16777216,\"seed\":1}\n" +
            "{\"op\":\"memfd\"}\n" +
            "{\"op\":\"write\",\"fd\":3,\"addr\":\"0x100000000000\",\"len\":16777216}\n" +
            "{\"op\":\"write\",\"fd\":3,\"addr\":\"0x100000000000\",\"len\":16777216}\n" +
            "{\"op\":\"write\",\"fd\":3,\"addr\":\"0x100000000000\",\"len\":16777216}\n" +
            "{\"op\":\"write\",\"fd\":3,\"addr\":\"0x100000000000\",\"len\":16777216}\n";

    private static TraceInput Input(string text) => new("t.jsonl", new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void When_the_model_runs_out_of_memory_replay_says_so_once_at_that_line()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var input = Input(Exhausting);
        using (var model = new ModelSyscalls(memoryBytes: 64L << 20))
            Assert.Equal(ExitCodes.Ok, ReplayCommand.Replay(input, model, stdout, stderr));
        Assert.Equal(7, stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Matches(@"^kiov: t\.jsonl:[4-7]: the model ran out of its 64 MiB of physical memory: from here on it may answer -ENOMEM \(-12\) where a machine with more memory would not\n$", stderr.ToString());
    }

    [Fact]
    public void When_the_model_runs_out_of_memory_diff_says_it_is_the_models_limit_not_a_divergence()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var input = Input(Exhausting);
        int exit = ReplayCommand.Diff(input, () => new ModelSyscalls(memoryBytes: 64L << 20), () => new HostSyscalls(), stdout, stderr);
        Assert.Equal(ExitCodes.Unavailable, exit);
        Assert.Matches(@"^t\.jsonl:[4-7]: \{""op"":""write"".*\n  model: \{""ret"":[0-9-]+\}\n  host:  \{""ret"":16777216\}\n$", stdout.ToString());
        Assert.Matches(@"^kiov: t\.jsonl:[4-7]: not a divergence: the model ran out of its 64 MiB of physical memory at line [4-7]\n$", stderr.ToString());
    }
}
