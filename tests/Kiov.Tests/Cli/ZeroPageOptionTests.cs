using Kiov.Cli.Commands;
using Kiov.Tests.Trace;
using static Kiov.Tests.Cli.KiovProcess;

namespace Kiov.Tests.Cli;

/// <summary><c>kiov replay --model --zero-page shared|none</c>: a model-only run set up without asking the
/// host which zero-page behaviour it has.</summary>
[Collection(HostCollection.Name)]
public class ZeroPageOptionTests
{
    private static readonly string Trace = Path.Combine(TestPaths.Traces, "zero-page-vmsplice-untouched.jsonl");

    private static string ReplayModel(bool sharedZeroPage)
    {
        var stdout = new StringWriter();
        int exit = ReplayCommand.Run(ReplayCommand.Mode.Model, Trace, () => Stream.Null, stdout, TextWriter.Null, sharedZeroPage);
        Assert.Equal(0, exit);
        return stdout.ToString();
    }

    [Fact]
    public void The_recorded_setting_gives_the_recorded_output_and_the_other_setting_does_not()
    {
        string expected = File.ReadAllText(Path.Combine(TestPaths.Traces, "zero-page-vmsplice-untouched.expected.jsonl"));
        Assert.Equal(expected, ReplayModel(sharedZeroPage: true));
        string without = ReplayModel(sharedZeroPage: false);
        Assert.NotEqual(expected, without);
        // Without the zero page the pipe holds the page itself, so the read sees the fill (line 5's hash).
        string[] lines = without.Split('\n');
        Assert.Equal(lines[6], lines[5]);
    }

    [Theory]
    [InlineData("replay --diff --zero-page none -")]
    [InlineData("replay --host --zero-page shared -")]
    public void The_option_is_for_the_model_alone(string args) =>
        AssertOneLineError(Run(args, "{\"op\":\"pipe\"}\n"), 2, "--zero-page sets up the model alone");

    [Fact]
    public void Another_value_is_a_tool_error() =>
        AssertOneLineError(Run("replay --model --zero-page maybe -", ""), 2, "maybe");
}
