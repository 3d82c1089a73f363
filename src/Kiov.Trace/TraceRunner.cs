namespace Kiov.Trace;

/// <summary>Runs a parsed trace on a back end and prints one result line per operation
/// (docs/trace-format.md), each ended by <c>\n</c>.</summary>
internal static class TraceRunner
{
    /// <summary>Runs <paramref name="ops"/> on <paramref name="sys"/>, in order.</summary>
    /// <param name="ops">The operations, as <see cref="TraceReader"/> parsed them.</param>
    /// <param name="sys">The back end.</param>
    /// <param name="output">Where the result lines go.</param>
    public static void Run(IEnumerable<TraceOp> ops, ISyscalls sys, TextWriter output)
    {
        using var processes = new TraceProcesses(sys);
        foreach (TraceOp op in ops)
        {
            output.Write(processes.Run(op).ToJson());
            output.Write('\n');
        }
    }

    /// <summary>Runs <paramref name="ops"/> on <paramref name="sys"/> and returns the output.</summary>
    /// <param name="ops">The operations.</param>
    /// <param name="sys">The back end.</param>
    /// <returns>The result lines, each ended by <c>\n</c>.</returns>
    public static string RunToString(IEnumerable<TraceOp> ops, ISyscalls sys)
    {
        using var output = new StringWriter();
        Run(ops, sys, output);
        return output.ToString();
    }
}
