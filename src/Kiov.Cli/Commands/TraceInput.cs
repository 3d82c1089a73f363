using Kiov.Trace;

namespace Kiov.Cli.Commands;

/// <summary>A trace read from a file or standard input, with its lines kept for messages.</summary>
/// <param name="Name">The file name as given (<c>-</c> for standard input).</param>
/// <param name="Lines">The trace's lines.</param>
/// <param name="Ops">The parsed operations.</param>
public sealed record TraceInput(string Name, IReadOnlyList<string> Lines, IReadOnlyList<TraceOp> Ops)
{
    /// <summary>Reads and parses FILE, or <paramref name="stdin"/> for <c>-</c>.</summary>
    /// <param name="name">The file name, or <c>-</c>.</param>
    /// <param name="stdin">Standard input.</param>
    /// <exception cref="ToolInputException">The file cannot be read, or a line is a trace error
    /// (the message is then <c>FILE:LINE: problem</c>).</exception>
    public static TraceInput Load(string name, TextReader stdin)
    {
        var lines = new List<string>();
        try
        {
            using TextReader reader = name == "-" ? TextReader.Null : File.OpenText(name);
            TextReader source = name == "-" ? stdin : reader;
            while (source.ReadLine() is { } line)
                lines.Add(line);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ToolInputException($"{name}: cannot read: {e.Message}");
        }
        try
        {
            return new TraceInput(name, lines, TraceReader.Read(lines));
        }
        catch (TraceException e)
        {
            throw new ToolInputException($"{name}:{e.Line}: {e.Problem}");
        }
    }
}
