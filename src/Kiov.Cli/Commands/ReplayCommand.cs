using System.CommandLine;
using Kiov.Memory;
using Kiov.Trace;

namespace Kiov.Cli.Commands;

/// <summary><c>kiov replay [--model | --host | --diff] FILE|-</c>: runs a trace (docs/trace-format.md) and
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
        var zeroPage = new Option<string>("--zero-page")
        {
            Description = "With --model: set the model up with the shared zero page (shared) or without it (none) instead of asking the host which it has",
        };
        zeroPage.AcceptOnlyFromAmong("shared", "none");
        var file = new Argument<string>("file") { Description = "The trace (JSON Lines, docs/trace-format.md), or - for standard input" };
        file.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && r.Tokens[0].Value is { Length: > 1 } word && word[0] == '-')
                r.AddError(TraceInput.UnknownOption(word));
        });
        var command = new Command("replay", "Run a trace and print one result line per operation");
        command.Options.Add(model);
        command.Options.Add(host);
        command.Options.Add(diff);
        command.Options.Add(zeroPage);
        command.Arguments.Add(file);
        command.SetAction(parse =>
        {
            int chosen = (parse.GetValue(model) ? 1 : 0) + (parse.GetValue(host) ? 1 : 0) + (parse.GetValue(diff) ? 1 : 0);
            if (chosen > 1)
                throw new ToolInputException("replay: give at most one of --model, --host and --diff");
            Mode mode = parse.GetValue(host) ? Mode.Host : parse.GetValue(diff) ? Mode.Diff : Mode.Model;
            bool? sharedZeroPage = parse.GetValue(zeroPage) is { } z ? z == "shared" : null;
            if (sharedZeroPage is not null && mode != Mode.Model)
                throw new ToolInputException("replay: --zero-page sets up the model alone; --host and --diff use the host's own setting");
            return Run(mode, parse.GetValue(file)!, StandardStreams.OpenInput,
                parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, sharedZeroPage);
        });
        return command;
    }

    /// <summary>Runs <c>kiov replay</c> with standard input given as text (taken as its UTF-8 bytes).</summary>
    /// <param name="mode">The back end(s).</param>
    /// <param name="file">The trace file, or <c>-</c>.</param>
    /// <param name="stdin">Standard input.</param>
    /// <param name="stdout">Where result lines go.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <returns>The exit status (<see cref="ExitCodes"/>).</returns>
    public static int Run(Mode mode, string file, TextReader stdin, TextWriter stdout, TextWriter stderr) =>
        Run(mode, file, () => new MemoryStream(new System.Text.UTF8Encoding(false).GetBytes(stdin.ReadToEnd())), stdout, stderr);

    /// <summary>Runs <c>kiov replay</c> with standard input given as bytes.</summary>
    /// <param name="mode">The back end(s).</param>
    /// <param name="file">The trace file, or <c>-</c>.</param>
    /// <param name="stdin">Standard input.</param>
    /// <param name="stdout">Where result lines go.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <returns>The exit status (<see cref="ExitCodes"/>).</returns>
    public static int Run(Mode mode, string file, Stream stdin, TextWriter stdout, TextWriter stderr) =>
        Run(mode, file, () => stdin, stdout, stderr);

    /// <summary>Runs <c>kiov replay</c>: each line is read, parsed, run and printed before the
    /// next is read, and the output is flushed whenever the reader may wait for input.</summary>
    /// <param name="mode">The back end(s).</param>
    /// <param name="file">The trace file, or <c>-</c>.</param>
    /// <param name="stdin">Opens standard input (only for <c>-</c>).</param>
    /// <param name="stdout">Where result lines go.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <param name="sharedZeroPage">For the model alone: whether it has the shared zero page; null to
    /// set it up as the host is (which asks the host, through kiov-exec, once per process).</param>
    /// <returns>The exit status (<see cref="ExitCodes"/>).</returns>
    public static int Run(Mode mode, string file, Func<Stream> stdin, TextWriter stdout, TextWriter stderr, bool? sharedZeroPage = null) =>
        ExitCodes.Guard(stderr, () =>
        {
            using TraceInput trace = TraceInput.Open(file, stdin, stdout.Flush);
            if (mode == Mode.Diff)
                return Diff(trace, () => Backends.CreateModel(), Backends.Host, stdout, stderr);
            using ISyscalls sys = mode == Mode.Host ? Backends.Host() : Backends.CreateModel(sharedZeroPage);
            return Replay(trace, sys, stdout, stderr);
        });

    /// <summary>Runs every line on one back end as it is read, printing its result line. If the
    /// model runs out of physical memory, that is said once on <paramref name="stderr"/>, at the
    /// line where it happened.</summary>
    /// <param name="trace">The trace.</param>
    /// <param name="sys">The back end.</param>
    /// <param name="stdout">Where result lines go.</param>
    /// <param name="stderr">Where the model's limit is reported.</param>
    /// <returns><see cref="ExitCodes.Ok"/>.</returns>
    internal static int Replay(TraceInput trace, ISyscalls sys, TextWriter stdout, TextWriter stderr)
    {
        var limit = new ModelLimit(sys);
        using var processes = new TraceProcesses(sys);
        while (trace.Next() is { } op)
        {
            stdout.Write(processes.Run(op).ToJson());
            stdout.Write('\n');
            if (limit.JustReached(op.Line))
            {
                stdout.Flush();
                ExitCodes.Say(stderr, $"{trace.Name}:{op.Line}: {limit.Describe()}: from here on it may answer -ENOMEM (-12) where a machine with more memory would not");
            }
        }
        stdout.Flush();
        return ExitCodes.Ok;
    }

    /// <summary>Runs every line on the model and the host in step, as it is read, and reports
    /// the first line whose results differ: <c>FILE:LINE: the line</c>, then both results (exit 1).
    /// A difference after the model ran out of physical memory is the model's limit, not a
    /// divergence: it is said on <paramref name="stderr"/>, with exit status 3.</summary>
    /// <param name="trace">The trace.</param>
    /// <param name="createModel">Makes the model back end.</param>
    /// <param name="createHost">Makes the host back end.</param>
    /// <param name="stdout">Where the report goes.</param>
    /// <param name="stderr">Where the model's limit is reported.</param>
    /// <returns><see cref="ExitCodes.Differ"/>, <see cref="ExitCodes.Unavailable"/> or <see cref="ExitCodes.Ok"/>.</returns>
    internal static int Diff(TraceInput trace, Func<ISyscalls> createModel, Func<ISyscalls> createHost, TextWriter stdout, TextWriter? stderr = null)
    {
        using ISyscalls model = createModel();
        using ISyscalls host = createHost();
        using var modelProcesses = new TraceProcesses(model);
        using var hostProcesses = new TraceProcesses(host);
        var limit = new ModelLimit(model);
        while (trace.Next() is { } op)
        {
            string m = modelProcesses.Run(op).ToJson(), h = hostProcesses.Run(op).ToJson();
            limit.JustReached(op.Line);
            if (m != h)
            {
                stdout.Write($"{trace.Name}:{op.Line}: {trace.LastLine}\n  model: {m}\n  host:  {h}\n");
                if (limit.ReachedAt is not { } at)
                    return ExitCodes.Differ;
                stdout.Flush();
                ExitCodes.Say(stderr ?? TextWriter.Null, $"{trace.Name}:{op.Line}: not a divergence: {limit.Describe()} at line {at}");
                return ExitCodes.Unavailable;
            }
        }
        stdout.Write($"{trace.Name}: the model and the host agree on all {trace.OpCount} lines\n");
        return ExitCodes.Ok;
    }

    /// <summary>Watches the model's physical memory for the first allocation it could not
    /// satisfy: the model's limit, which the host's machine may not share.</summary>
    private sealed class ModelLimit(ISyscalls sys)
    {
        private readonly PhysicalMemory? _memory = (sys as ModelSyscalls)?.Kernel.Memory;

        /// <summary>The line at which the model first ran out, if it did.</summary>
        public int? ReachedAt { get; private set; }

        /// <summary>Whether the model ran out of memory during line <paramref name="line"/> (first time only).</summary>
        public bool JustReached(int line)
        {
            if (ReachedAt is not null || _memory is null || _memory.AllocFailures == 0)
                return false;
            ReachedAt = line;
            return true;
        }

        public string Describe() =>
            _memory!.Size % (1L << 30) == 0
                ? $"the model ran out of its {_memory.Size >> 30} GiB of physical memory"
                : $"the model ran out of its {_memory.Size >> 20} MiB of physical memory";
    }
}
