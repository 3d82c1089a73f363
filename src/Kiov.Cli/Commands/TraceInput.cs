using Kiov.Trace;

namespace Kiov.Cli.Commands;

/// <summary>
/// A trace read a line at a time from a file or standard input: each line is parsed when it is
/// asked for, so a replay runs and prints it before the next is read, in bounded memory. Trace
/// errors become <see cref="ToolInputException"/>s naming <c>FILE:LINE</c>.
/// </summary>
internal sealed class TraceInput : IDisposable
{
    private readonly TraceLineReader _reader;

    /// <summary>Reads <paramref name="stream"/>, called <paramref name="name"/> in messages.</summary>
    /// <param name="name">The file name as given (<c>-</c> for standard input).</param>
    /// <param name="stream">The trace's bytes; disposed with this.</param>
    /// <param name="beforeWaiting">Called before the reader may wait for more input (flush the output).</param>
    public TraceInput(string name, Stream stream, Action? beforeWaiting = null)
    {
        Name = name;
        _reader = new TraceLineReader(stream, beforeWaiting);
    }

    /// <summary>The file name as given (<c>-</c> for standard input).</summary>
    public string Name { get; }

    private ReadOnlyMemory<byte> _lastLine;

    /// <summary>The text of the line last parsed (for messages), trimmed.</summary>
    public string LastLine => System.Text.Encoding.UTF8.GetString(_lastLine.Span).Trim();

    /// <summary>The number of operations parsed so far.</summary>
    public int OpCount { get; private set; }

    /// <summary>Opens FILE, or standard input for <c>-</c>.</summary>
    /// <param name="name">The file name, or <c>-</c>.</param>
    /// <param name="stdin">Opens standard input (only called for <c>-</c>).</param>
    /// <param name="beforeWaiting">Called before the reader may wait for more input.</param>
    /// <exception cref="ToolInputException">The file cannot be read: it says why in words.</exception>
    public static TraceInput Open(string name, Func<Stream> stdin, Action? beforeWaiting = null)
    {
        if (name == "-")
            return new TraceInput(name, stdin(), beforeWaiting);
        if (name.Length > 1 && name[0] == '-')
            throw new ToolInputException(UnknownOption(name));
        if (Directory.Exists(name))
            throw new ToolInputException($"{TraceException.Quote(name)} is a directory, not a trace file");
        try
        {
            return new TraceInput(name, new FileStream(name, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan), beforeWaiting);
        }
        catch (FileNotFoundException)
        {
            throw new ToolInputException($"{TraceException.Quote(name)}: no such file");
        }
        catch (DirectoryNotFoundException)
        {
            throw new ToolInputException($"{TraceException.Quote(name)}: no such file (a folder on the way is missing)");
        }
        catch (UnauthorizedAccessException)
        {
            throw new ToolInputException($"{TraceException.Quote(name)}: permission denied");
        }
        catch (Exception e) when (e is IOException or ArgumentException or NotSupportedException)
        {
            throw new ToolInputException($"{TraceException.Quote(name)}: cannot read: {e.Message}");
        }
    }

    /// <summary>The message for a word that looks like an option but is none.</summary>
    /// <param name="word">The word, starting with <c>-</c>.</param>
    public static string UnknownOption(string word) =>
        $"unknown option {TraceException.Quote(word)} (a file whose name starts with - can be given as ./{word})";

    /// <summary>Reads lines up to the next operation and parses it.</summary>
    /// <returns>The operation, or null at the end of the trace.</returns>
    /// <exception cref="ToolInputException">A trace error (<c>FILE:LINE: problem</c>) or a read error.</exception>
    public TraceOp? Next()
    {
        try
        {
            while (_reader.TryReadLine(out ReadOnlyMemory<byte> line))
            {
                if (TraceReader.ParseLine(line, _reader.LineNumber) is { } op)
                {
                    _lastLine = line;
                    OpCount++;
                    return op;
                }
            }
            return null;
        }
        catch (TraceException e)
        {
            throw new ToolInputException($"{Name}:{e.Line}: {e.Problem}");
        }
        catch (IOException e) when (e is not OutputException)
        {
            throw new ToolInputException($"{Name}: cannot read: {e.Message}");
        }
    }

    /// <summary>Closes the file (standard input is left to the runtime).</summary>
    public void Dispose() => _reader.Dispose();
}
