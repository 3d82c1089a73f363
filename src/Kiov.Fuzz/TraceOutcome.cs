namespace Kiov.Trace.Fuzz;

/// <summary>What a back end printed for a trace: its result lines, and whether the replay failed
/// (a trace error, or a crash: an exception in the model, a host child that died).</summary>
/// <param name="Lines">The result lines printed, without line ends (all of them, unless it failed).</param>
/// <param name="Failure">Null when the replay ran to the end; else a one-line reason.</param>
internal sealed record TraceOutcome(IReadOnlyList<string> Lines, string? Failure = null)
{
    /// <summary>For the model: the 0-based index of the first result line during which its
    /// physical memory ran out (the model's limit, not a divergence from there on); else null.</summary>
    public int? OutOfMemoryAt { get; init; }

    /// <summary>Whether the replay ran every line.</summary>
    public bool Completed => Failure is null;

    /// <summary>Runs <paramref name="trace"/> on a back end in this process. A trace error or an
    /// exception (a model bug, a leaked frame on dispose) becomes <see cref="Failure"/>, with the
    /// lines printed before it.</summary>
    /// <param name="trace">The trace's lines.</param>
    /// <param name="createBackEnd">Makes the back end; it is disposed at the end.</param>
    public static TraceOutcome InProcess(IReadOnlyList<string> trace, Func<ISyscalls> createBackEnd)
    {
        List<TraceOp> ops;
        try
        {
            ops = TraceReader.Read(trace);
        }
        catch (TraceException e)
        {
            return new TraceOutcome([], $"trace error: line {e.Line}: {e.Problem}");
        }
        var lines = new List<string>(ops.Count);
        int? outOfMemoryAt = null;
        try
        {
            using ISyscalls sys = createBackEnd();
            using var processes = new TraceProcesses(sys);
            var memory = (sys as ModelSyscalls)?.Kernel.Memory;
            foreach (TraceOp op in ops)
            {
                lines.Add(processes.Run(op).ToJson());
                if (outOfMemoryAt is null && memory is { AllocFailures: > 0 })
                    outOfMemoryAt = lines.Count - 1;
            }
        }
        catch (TraceException e)
        {
            return new TraceOutcome(lines, $"trace error: line {e.Line}: {e.Problem}");
        }
        catch (Exception e)
        {
            return new TraceOutcome(lines, $"crash: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}") { OutOfMemoryAt = outOfMemoryAt };
        }
        return new TraceOutcome(lines) { OutOfMemoryAt = outOfMemoryAt };
    }

    /// <summary>Splits a back end's standard output into result lines.</summary>
    /// <param name="stdout">The output, each line ended by <c>\n</c>.</param>
    public static IReadOnlyList<string> SplitLines(string stdout) =>
        stdout.Length == 0 ? [] : stdout.TrimEnd('\n').Split('\n');

    /// <summary>The 0-based index of the first result line where <paramref name="a"/> and
    /// <paramref name="b"/> differ (a line one side lacks counts), or null when the lines agree.</summary>
    /// <param name="a">One outcome.</param>
    /// <param name="b">The other.</param>
    public static int? FirstDifference(TraceOutcome a, TraceOutcome b)
    {
        int n = Math.Min(a.Lines.Count, b.Lines.Count);
        for (int i = 0; i < n; i++)
        {
            if (a.Lines[i] != b.Lines[i])
                return i;
        }
        return a.Lines.Count == b.Lines.Count ? null : n;
    }

    /// <summary>What this outcome looks like in a file: the result lines, then
    /// <c># Failure</c> if it failed.</summary>
    public string ToText() =>
        string.Concat(Lines.Select(l => l + "\n")) + (Failure is null ? "" : $"# {Failure}\n");
}
