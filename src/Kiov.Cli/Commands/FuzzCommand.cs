using System.CommandLine;
using Kiov.Trace;
using Kiov.Trace.Fuzz;

namespace Kiov.Cli.Commands;

/// <summary><c>kiov fuzz [--seed N] [--ops N] [--runs N] [--out DIR] [--jobs N]</c>: runs random
/// traces on the model (in this process) and on the host kernel (through persistent executors, kiov-exec),
/// shrinks every divergence to a minimal trace written to DIR, and ends with
/// <c>N passed, M failed</c> on standard output (exit 0 if none failed, else 1).</summary>
public static class FuzzCommand
{
    /// <summary>Builds the <c>fuzz</c> command.</summary>
    public static Command Create()
    {
        var seed = new Option<ulong?>("--seed") { Description = "The session's seed (default: from the clock; printed on standard error)" };
        var ops = new Option<int>("--ops") { Description = "Lines per trace", DefaultValueFactory = _ => 200 };
        var runs = new Option<int>("--runs") { Description = "How many traces", DefaultValueFactory = _ => 100 };
        var outDir = new Option<string>("--out") { Description = "Where minimized divergences go", DefaultValueFactory = _ => "fuzz-out" };
        var jobs = new Option<int>("--jobs") { Description = "Runs at once", DefaultValueFactory = _ => Environment.ProcessorCount };
        var shrink = new Option<int>("--shrink-steps") { Description = "The most replays one shrink may make", DefaultValueFactory = _ => 300 };
        var command = new Command("fuzz", "Diff random traces between the model and the host kernel");
        foreach (Option option in new Option[] { seed, ops, runs, outDir, jobs, shrink })
            command.Options.Add(option);
        command.SetAction(parse => ExitCodes.Guard(Console.Error, () =>
        {
            var options = new FuzzOptions(
                parse.GetValue(seed) ?? (ulong)DateTime.UtcNow.Ticks,
                Positive("--ops", parse.GetValue(ops)),
                Positive("--runs", parse.GetValue(runs)),
                parse.GetValue(outDir)!,
                Positive("--jobs", parse.GetValue(jobs)),
                Positive("--shrink-steps", parse.GetValue(shrink)));
            using var executors = new HostExecutorPool();
            return Run(options, executors.Replay, Console.Out, Console.Error);
        }));
        return command;
    }

    /// <summary>Runs a fuzz session with the model in this process and <paramref name="host"/>.</summary>
    /// <param name="options">The settings.</param>
    /// <param name="host">Replays a trace on the host.</param>
    /// <param name="stdout">Where the summary line goes.</param>
    /// <param name="stderr">Where progress goes.</param>
    /// <returns><see cref="ExitCodes.Ok"/> if every run agreed, else <see cref="ExitCodes.Differ"/>.</returns>
    public static int Run(FuzzOptions options, Func<IReadOnlyList<string>, TraceOutcome> host, TextWriter stdout, TextWriter stderr) =>
        ExitCodes.Guard(stderr, () =>
        {
            var session = new FuzzSession(options, t => TraceOutcome.InProcess(t, Backends.CreateModel), host, stderr);
            FuzzSummary summary = session.Run();
            stdout.Write(summary + "\n");
            stdout.Flush();
            return summary.Failed == 0 ? ExitCodes.Ok : ExitCodes.Differ;
        });

    private static int Positive(string name, int value) =>
        value > 0 ? value : throw new ToolInputException($"fuzz: {name} must be a positive number, not {value}");
}
