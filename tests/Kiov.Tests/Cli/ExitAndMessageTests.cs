using static Kiov.Tests.Cli.KiovProcess;

namespace Kiov.Tests.Cli;

/// <summary>Issue 16: every way out of the real <c>kiov</c> process is a documented exit status
/// and at most one sanitized line on standard error, whatever the input.</summary>
public class ExitAndMessageTests
{
    private const string Pipe = "{\"op\":\"pipe\"}\n";

    [Fact]
    public void Help_documents_the_exit_statuses_and_calls_the_program_kiov()
    {
        var r = Run("--help");
        Assert.Equal(0, r.Exit);
        Assert.Equal("", r.Stderr);
        Assert.Contains("Usage:\n  kiov [command] [options]", r.Stdout);
        Assert.DoesNotContain("Kiov.Cli", r.Stdout);
        foreach (string status in new[] { "0 ", "1 ", "2 ", "3 ", "70 ", "74 ", "130 ", "141 " })
            Assert.Contains("\n  " + status, r.Stdout);
        Assert.Contains("Usage:\n  kiov replay <file> [options]", Run("replay --help").Stdout);
    }

    [Fact]
    public void Help_into_a_full_disk_is_exit_74_and_one_line_not_a_stack_trace()
    {
        var r = Run("--help > /dev/full");
        AssertOneLineError(r, 74, "cannot write standard output: No space left on device");
    }

    [Fact]
    public void Output_into_a_closed_pipe_is_a_quiet_exit_141()
    {
        using var dir = TempDir();
        string trace = dir.File("t.jsonl", string.Concat(Enumerable.Repeat(Pipe + "{\"op\":\"close\",\"fd\":3}\n{\"op\":\"close\",\"fd\":4}\n", 30000)));
        var r = Run($"KIOV replay {Quote(trace)} | head -c 10 > /dev/null; exit ${{PIPESTATUS[0]}}");
        Assert.Equal(141, r.Exit);
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public void A_closed_standard_output_is_exit_74()
    {
        var r = Run("replay - >&-", Pipe);
        AssertOneLineError(r, 74, "standard output: it is closed");
    }

    [Fact]
    public void A_closed_standard_input_is_exit_2_not_a_hang()
    {
        var r = Run("replay - <&-");
        AssertOneLineError(r, 2, "standard input is closed");
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void A_closed_standard_error_keeps_the_exit_status_and_writes_into_no_descriptor_of_the_runtime()
    {
        // Written into the runtime's own pipe that took descriptor 2, the message used to abort kiov (exit 134).
        var r = Run("replay /nonexistent/t.jsonl 2>&-");
        Assert.Equal((2, "", ""), (r.Exit, r.Stdout, r.Stderr));
    }

    [Fact]
    public void A_line_that_never_ends_fails_fast_as_a_trace_error()
    {
        var r = Run("replay /dev/zero");
        AssertOneLineError(r, 2, "/dev/zero:1: line longer than the limit of 1048576 bytes (1 MiB)");
    }

    [Fact]
    public void A_line_over_one_mebibyte_is_a_trace_error_naming_it_after_the_lines_before_it_ran()
    {
        using var dir = TempDir();
        string trace = dir.File("long.jsonl", Pipe + "{\"op\":\"" + new string('a', 1 << 20) + "\"}\n" + Pipe);
        var r = Run($"replay {Quote(trace)}");
        string line = AssertOneLineError(r, 2, "long.jsonl:2: line longer than the limit");
        Assert.Equal("{\"ret\":0,\"fds\":[3,4]}\n", r.Stdout);
        Assert.True(line.Length < 600, line);
    }

    [Fact]
    public void A_huge_unknown_op_name_is_cut_with_its_length_said()
    {
        using var dir = TempDir();
        string name = new('x', 500_000);
        var r = Run($"replay {Quote(dir.File("t.jsonl", "{\"op\":\"" + name + "\"}\n"))}");
        string line = AssertOneLineError(r, 2, "t.jsonl:1: unknown op \"xxxx");
        Assert.Contains("(500000 characters)", line);
        Assert.True(line.Length < 600, $"{line.Length} characters");
    }

    [Theory]
    [InlineData("{\"op\":\"po\\nwned\"}", "unknown op \"po\\u000awned\"")]
    [InlineData("{\"op\":\"\\u001b[31mred\\u001b[0m\"}", "unknown op \"\\u001b[31mred\\u001b[0m\"")]
    [InlineData("{\"op\":\"\\u0085\\u2028x\"}", "unknown op \"\\u0085\\u2028x\"")]
    public void Control_characters_in_the_input_are_escaped_in_the_one_line(string traceLine, string says)
    {
        var r = Run("replay -", traceLine + "\n");
        AssertOneLineError(r, 2, "-:1: " + says);
        Assert.DoesNotContain('\x1b', r.Stderr);
    }

    [Fact]
    public void An_unknown_option_is_an_unknown_option_not_a_file()
    {
        AssertOneLineError(Run("replay --frob"), 2, "unknown option \"--frob\"");
        AssertOneLineError(Run("replay --frob x.jsonl"), 2, "unknown option \"--frob\"");
        AssertOneLineError(Run("frob"), 2, "frob");
    }

    [Fact]
    public void A_directory_as_the_trace_says_it_is_a_directory()
    {
        using var dir = TempDir();
        AssertOneLineError(Run($"replay {Quote(dir.Path)}"), 2, "is a directory, not a trace file");
    }

    [Fact]
    public void A_missing_file_says_no_such_file()
    {
        AssertOneLineError(Run("replay /nonexistent/t.jsonl"), 2, "no such file");
    }

    [Theory]
    [InlineData("--seed -1", "--seed must be a whole number from 0 to 18446744073709551615, not \"-1\"")]
    [InlineData("--seed 1e3", "--seed must be a whole number")]
    [InlineData("--runs abc", "--runs must be a whole number from 1 to 2147483647, not \"abc\"")]
    [InlineData("--ops 0", "--ops must be a whole number from 1")]
    [InlineData("--shard 0/4", "--shard must be K/N with 1 <= K <= N")]
    [InlineData("--shard 5/4", "--shard must be K/N")]
    [InlineData("--duration soon", "--duration must be a time like 90s, 20m or 2h")]
    public void Bad_fuzz_options_say_what_is_wrong_in_words(string options, string says)
    {
        string line = AssertOneLineError(Run("fuzz " + options), 2, says);
        Assert.DoesNotContain("System.", line);
    }

    [Fact]
    public void Too_deep_json_is_a_trace_error_that_says_so()
    {
        string deep = "{\"op\":\"pipe\",\"x\":" + new string('[', 100) + new string(']', 100) + "}\n";
        AssertOneLineError(Run("replay -", deep), 2, "-:1: arrays and objects nested more than 16 deep");
    }

    [Fact]
    public void A_duplicate_key_is_a_trace_error_from_a_file_and_from_standard_input()
    {
        using var dir = TempDir();
        const string line = "{\"op\":\"close\",\"fd\":3,\"fd\":4}\n";
        AssertOneLineError(Run($"replay {Quote(dir.File("t.jsonl", line))}"), 2, "t.jsonl:1: key \"fd\" given twice");
        AssertOneLineError(Run("replay -", line), 2, "-:1: key \"fd\" given twice");
    }

    [Fact]
    public void A_byte_order_mark_is_skipped_from_a_file_and_from_standard_input_alike()
    {
        using var dir = TempDir();
        string text = "\uFEFF" + Pipe;
        string file = Path.Combine(dir.Path, "bom.jsonl");
        File.WriteAllText(file, text, new System.Text.UTF8Encoding(false));
        var fromFile = Run($"replay {Quote(file)}");
        var fromStdin = Run($"replay - < {Quote(file)}");
        Assert.Equal((0, "{\"ret\":0,\"fds\":[3,4]}\n", ""), (fromFile.Exit, fromFile.Stdout, fromFile.Stderr));
        Assert.Equal(fromFile, fromStdin);
        // Anywhere but the start of the trace it is not white space.
        AssertOneLineError(Run("replay -", Pipe + "\uFEFF" + Pipe), 2, "-:2: not valid JSON");
    }

    [Fact]
    public void Leading_zeros_are_read_alike_in_hex_and_decimal()
    {
        const string trace = "{\"op\":\"close\",\"fd\":\"0x00000000000000000009\"}\n{\"op\":\"close\",\"fd\":\"000000000000000000009\"}\n";
        var r = Run("replay -", trace);
        Assert.Equal((0, "{\"ret\":-9}\n{\"ret\":-9}\n", ""), (r.Exit, r.Stdout, r.Stderr));
    }

    [Fact]
    public void Bench_names_the_kernel_as_uname_r_does()
    {
        string release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        Assert.Equal(release, Kiov.Cli.KernelRelease.Current);
    }
}
