using Kiov.Cli.Commands;
using Kiov.Trace;

namespace Kiov.Tests.Trace;

public class RunnerAndDiffTests
{
    private static TraceInput Input(string text) =>
        new("t.jsonl", new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void Runner_prints_one_line_per_op_with_fds_and_hash_only_when_not_negative()
    {
        var ops = TraceReader.Read(new StringReader("{\"op\":\"pipe\"}\n# x\n{\"op\":\"hash\",\"addr\":0,\"len\":0}\n{\"op\":\"memfd\"}"));
        Assert.Equal("{\"ret\":0,\"fds\":[3,4]}\n{\"ret\":0,\"hash\":\"0xcbf29ce484222325\"}\n{\"ret\":0}\n",
            TraceRunner.RunToString(ops, new FixedSyscalls(0)));
        Assert.Equal("{\"ret\":-24}\n{\"ret\":-24}\n{\"ret\":-24}\n",
            TraceRunner.RunToString(ops, new FixedSyscalls(-24)));
    }

    [Fact]
    public void Diff_of_agreeing_back_ends_is_exit_0_and_disposes_both()
    {
        var model = new FixedSyscalls(5);
        var host = new FixedSyscalls(5);
        var stdout = new StringWriter();
        Assert.Equal(0, ReplayCommand.Diff(Input("{\"op\":\"memfd\"}\n{\"op\":\"close\",\"fd\":3}"), () => model, () => host, stdout));
        Assert.Equal("t.jsonl: the model and the host agree on all 2 lines\n", stdout.ToString());
        Assert.True(model.Disposed && host.Disposed);
    }

    [Fact]
    public void Diff_reports_the_first_differing_line_with_both_results_and_exit_1()
    {
        var stdout = new StringWriter();
        int exit = ReplayCommand.Diff(Input("# c\n{\"op\":\"memfd\"}\n{\"op\":\"close\",\"fd\":3}"),
            () => new FixedSyscalls(-9), () => new FixedSyscalls(3), stdout);
        Assert.Equal(1, exit);
        Assert.Equal("t.jsonl:2: {\"op\":\"memfd\"}\n  model: {\"ret\":-9}\n  host:  {\"ret\":3}\n", stdout.ToString());
    }
}
