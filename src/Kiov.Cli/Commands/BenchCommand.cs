using System.CommandLine;
using Kiov.Cli.Bench;
using Kiov.Iov;

namespace Kiov.Cli.Commands;

/// <summary>
/// <c>kiov bench</c>: the same system calls timed on the model and on the host kernel in one run,
/// side by side, with memcpy of the same bytes as the ceiling, at segment sizes from 512 B to 1 MiB;
/// then the model's page calls (pin/get per page), which a user cannot make on the host. Every side is
/// warmed until the code has reached its final JIT tier and the timing is steady (Bench/BenchSampler.cs).
/// Times are figures to compare within one run, not a test.
/// </summary>
public static class BenchCommand
{
    /// <summary>Builds the <c>bench</c> command.</summary>
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "A short warm-up and few batches (rough figures, for a smoke test)" };
        var json = new Option<bool>("--json") { Description = "Write the results as JSON instead of tables" };
        var plot = new Option<string?>("--plot") { Description = "Also draw throughput against segment size into FILE (.svg or .png)", HelpName = "FILE" };
        var filter = new Option<string?>("--filter") { Description = "Only the workloads whose name contains WORD (pipe, memfd, process_vm, pin, get; several as pipe|memfd)", HelpName = "WORD" };
        var command = new Command("bench", "Time the same system calls on the model and on the host kernel, side by side, with memcpy as the ceiling")
            { quick, json, plot, filter };
        command.SetAction(parse => ExitCodes.Guard(parse.InvocationConfiguration.Error,
            () => Run(parse.InvocationConfiguration.Output, parse.GetValue(quick), parse.GetValue(json), parse.GetValue(plot),
                      parse.GetValue(filter), parse.InvocationConfiguration.Error)));
        return command;
    }

    /// <summary>Measures everything and prints the tables (or the JSON), drawing the plot if asked;
    /// progress goes to <paramref name="progress"/>. Returns the exit status.</summary>
    public static int Run(TextWriter output, bool quick, bool json = false, string? plotFile = null, string? filter = null,
        TextWriter? progress = null)
    {
        if (plotFile != null) BenchPlot.CheckPath(plotFile);
        BenchResults results = BenchRunner.Run(quick, filter, progress);
        if (results.Throughput.Count + results.Pages.Count == 0)
            throw new ToolInputException($"--filter {filter}: no workload's name contains it");
        if (plotFile != null) BenchPlot.Save(results, plotFile);
        if (json)
        {
            output.WriteLine(BenchTable.Json(results));
            return ExitCodes.Ok;
        }
        BenchTable.Write(output, results);
        output.WriteLine();
        output.WriteLine("the seed thread's proposals, per MiB (counted, not timed): calls into the API, page lists handed back, GUP calls, bytes allocated");
        foreach (string line in BatchComparison.Format(BatchComparison.Rows()))
            output.WriteLine(line);
        output.WriteLine();
        output.WriteLine("a real direct-I/O consumer, O_DIRECT pwritev to a block device: bio_iov_iter_get_pages before and after the primitive, per MiB");
        foreach (string line in Kiov.Drivers.DirectIoComparison.Format(Kiov.Drivers.DirectIoComparison.Rows()))
            output.WriteLine(line);
        return ExitCodes.Ok;
    }
}
