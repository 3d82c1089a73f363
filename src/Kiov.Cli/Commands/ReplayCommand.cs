using System.CommandLine;
using Kiov.Trace;

namespace Kiov.Cli.Commands;

/// <summary><c>kiov replay [--model | --host | --diff] FILE|-</c>: runs a trace (TRACE.md) and
/// prints one result line per operation.</summary>
public static class ReplayCommand
{
    /// <summary>Which back end(s) to run a trace on.</summary>
    public enum Mode
    {
        /// <summary>The model (the default).</summary>
        Model,

        /// <summary>The running Linux kernel.</summary>
        Host,

        /// <summary>Both, reporting the first line where they differ.</summary>
        Diff,
    }

    /// <summary>Builds the <c>replay</c> command.</summary>
    public static Command Create()
    {
        var model = new Option<bool>("--model") { Description = "Run on the model (the default)" };
        var host = new Option<bool>("--host") { Description = "Run on the running Linux kernel" };
        var diff = new Option<bool>("--diff") { Description = "Run on both; print the first line where they differ (exit 1), or exit 0" };
        var file = new Argument<string>("file") { Description = "The trace (JSON Lines, TRACE.md), or - for standard input" };
        var command = new Command("replay", "Run a trace and print one result line per operation");
        command.Options.Add(model);
        command.Options.Add(host);
        command.Options.Add(diff);
        command.Arguments.Add(file);
        command.SetAction(parse =>
        {
            int chosen = (parse.GetValue(model) ? 1 : 0) + (parse.GetValue(host) ? 1 : 0) + (parse.GetValue(diff) ? 1 : 0);
            if (chosen > 1)
            {
                Console.Error.WriteLine("kiov: replay: give at most one of --model, --host and --diff");
                return ExitCodes.BadInput;
            }
            Mode mode = parse.GetValue(host) ? Mode.Host : parse.GetValue(diff) ? Mode.Diff : Mode.Model;
            return Run(mode, parse.GetValue(file)!, Console.In, Console.Out, Console.Error);
        });
        return command;
    }

    /// <summary>Runs <c>kiov replay</c>.</summary>
    /// <param name="mode">The back end(s).</param>
    /// <param name="file">The trace file, or <c>-</c>.</param>
    /// <param name="stdin">Standard input.</param>
    /// <param name="stdout">Where result lines go.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <returns>The exit status (<see cref="ExitCodes"/>).</returns>
    public static int Run(Mode mode, string file, TextReader stdin, TextWriter stdout, TextWriter stderr) =>
        ExitCodes.Guard(stderr, () =>
        {
            TraceInput trace = TraceInput.Load(file, stdin);
            if (mode != Mode.Model && HostSettings.Describe() is { } settings)
                stderr.WriteLine(settings);  // what the model is set up to match
            if (mode == Mode.Diff)
                return Diff(trace, Backends.CreateModel, Backends.Host, stdout);
            using ISyscalls sys = mode == Mode.Host ? Backends.Host() : Backends.CreateModel();
            TraceRunner.Run(trace.Ops, sys, stdout);
            stdout.Flush();
            return ExitCodes.Ok;
        });

    /// <summary>Runs every line on the model and the host in step and reports the first line
    /// whose results differ: <c>FILE:LINE: the line</c>, then both results.</summary>
    /// <param name="trace">The trace.</param>
    /// <param name="createModel">Makes the model back end.</param>
    /// <param name="createHost">Makes the host back end.</param>
    /// <param name="stdout">Where the report goes.</param>
    /// <returns><see cref="ExitCodes.Differ"/> or <see cref="ExitCodes.Ok"/>.</returns>
    public static int Diff(TraceInput trace, Func<ISyscalls> createModel, Func<ISyscalls> createHost, TextWriter stdout)
    {
        using ISyscalls model = createModel();
        using ISyscalls host = createHost();
        using var modelProcesses = new TraceProcesses(model);
        using var hostProcesses = new TraceProcesses(host);
        foreach (TraceOp op in trace.Ops)
        {
            string m = modelProcesses.Run(op).ToJson(), h = hostProcesses.Run(op).ToJson();
            if (m != h)
            {
                stdout.Write($"{trace.Name}:{op.Line}: {trace.Lines[op.Line - 1].Trim()}\n  model: {m}\n  host:  {h}\n");
                return ExitCodes.Differ;
            }
        }
        stdout.Write($"{trace.Name}: the model and the host agree on all {trace.Ops.Count} lines\n");
        return ExitCodes.Ok;
    }
}
