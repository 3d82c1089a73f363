using System.Text.Json;
using System.Text.Unicode;

namespace Kiov.Trace;

/// <summary>
/// The lexical rules of a trace line beyond JSON's own (docs/trace-format.md ("Lexical rules")): a line of
/// only spaces and tabs is blank, one whose first other character is <c>#</c> is a comment; any
/// other line must be valid UTF-8, nest arrays and objects at most <see cref="MaxDepth"/> deep,
/// and name no key twice in one object.
/// </summary>
internal static class TraceSyntax
{
    /// <summary>The deepest nesting of arrays and objects a line may have (the line's own object
    /// is level 1; an iovec list's pairs are level 3).</summary>
    public const int MaxDepth = 16;

    /// <summary>Whether the line is blank (spaces, tabs, a CR) or a comment.</summary>
    /// <param name="line">The line's bytes.</param>
    public static bool IsBlankOrComment(ReadOnlySpan<byte> line)
    {
        int i = line.IndexOfAnyExcept((byte)' ', (byte)'\t', (byte)'\r');
        return i < 0 || line[i] == '#';
    }

    /// <summary>Checks the rules JSON leaves open; the JSON itself is checked here too, so a
    /// syntax error is reported by its column.</summary>
    /// <param name="line">The line's bytes (not blank, not a comment).</param>
    /// <param name="lineNumber">Its 1-based number, for the error.</param>
    /// <exception cref="TraceException">The line breaks a rule.</exception>
    public static void Check(ReadOnlySpan<byte> line, int lineNumber)
    {
        if (!Utf8.IsValid(line))
            throw new TraceException(lineNumber, "not valid UTF-8");
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = MaxDepth + 1 });
        List<List<string>>? keys = null; // the keys seen in each open object
        int objects = 0;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray when reader.CurrentDepth >= MaxDepth:
                        throw new TraceException(lineNumber, $"arrays and objects nested more than {MaxDepth} deep");
                    case JsonTokenType.StartObject:
                        keys ??= [];
                        if (keys.Count == objects) keys.Add([]);
                        keys[objects++].Clear();
                        break;
                    case JsonTokenType.EndObject:
                        objects--;
                        break;
                    case JsonTokenType.PropertyName:
                        string name = reader.GetString()!;
                        List<string> seen = keys![objects - 1];
                        if (seen.Contains(name))
                            throw new TraceException(lineNumber, $"key {TraceException.Quote(name)} given twice");
                        seen.Add(name);
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            throw new TraceException(lineNumber, $"not valid JSON (column {e.BytePositionInLine + 1})");
        }
    }
}
