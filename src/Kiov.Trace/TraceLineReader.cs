namespace Kiov.Trace;

/// <summary>
/// Reads a trace a line at a time from a byte stream, in bounded memory, by the lexical rules of
/// docs/trace-format.md ("Lexical rules"): lines end with LF (a CR before it is dropped, the last line may
/// lack it), a UTF-8 byte order mark at the very start of the trace is skipped, and a line longer
/// than <see cref="MaxLineBytes"/> is a <see cref="TraceException"/> as soon as that many bytes
/// have come without a line end (so a stream that never ends a line fails fast).
/// </summary>
internal sealed class TraceLineReader : IDisposable
{
    /// <summary>The longest line a trace may hold: 1 MiB, line end not counted.</summary>
    public const int MaxLineBytes = 1 << 20;

    private const int ReadChunk = 64 * 1024;
    private readonly Stream _stream;
    private readonly Action? _beforeWaiting;
    private readonly bool _leaveOpen;
    private byte[] _buffer = new byte[ReadChunk];
    private int _start, _end, _scanned;
    private bool _eof;

    /// <summary>Reads from <paramref name="stream"/>.</summary>
    /// <param name="stream">The trace's bytes.</param>
    /// <param name="beforeWaiting">Called before each read of the stream (when no whole line is
    /// left in the buffer): where a replay flushes its output, so that every line already read is
    /// answered before the reader may wait for more.</param>
    /// <param name="leaveOpen">Whether <see cref="Dispose"/> leaves the stream open.</param>
    public TraceLineReader(Stream stream, Action? beforeWaiting = null, bool leaveOpen = false)
    {
        _stream = stream;
        _beforeWaiting = beforeWaiting;
        _leaveOpen = leaveOpen;
    }

    /// <summary>The 1-based number of the line last returned (0 before the first).</summary>
    public int LineNumber { get; private set; }

    /// <summary>Reads the next line, without its line end.</summary>
    /// <param name="line">The line's bytes; valid until the next call.</param>
    /// <returns>False at the end of the trace.</returns>
    /// <exception cref="TraceException">The line is longer than <see cref="MaxLineBytes"/>.</exception>
    public bool TryReadLine(out ReadOnlyMemory<byte> line)
    {
        while (true)
        {
            int newline = Array.IndexOf(_buffer, (byte)'\n', _scanned, _end - _scanned);
            if (newline >= 0)
                return Take(newline, newline + 1, out line);
            _scanned = _end;
            if (_end - _start > MaxLineBytes + 1) // + 1: the CR of a CRLF may be waiting for its LF
                throw TooLong();
            if (_eof)
            {
                if (_start == _end)
                {
                    line = default;
                    return false;
                }
                return Take(_end, _end, out line);
            }
            Fill();
        }
    }

    /// <summary>The error for a line past <see cref="MaxLineBytes"/> (the next line's number).</summary>
    private TraceException TooLong() =>
        new(LineNumber + 1, $"line longer than the limit of {MaxLineBytes} bytes (1 MiB)");

    private bool Take(int lineEnd, int next, out ReadOnlyMemory<byte> line)
    {
        int start = _start, end = lineEnd;
        if (end - start > MaxLineBytes + (end > start && _buffer[end - 1] == '\r' ? 1 : 0))
            throw TooLong();
        if (end > start && _buffer[end - 1] == '\r')
            end--;
        if (LineNumber == 0 && end - start >= 3 && _buffer[start] == 0xEF && _buffer[start + 1] == 0xBB && _buffer[start + 2] == 0xBF)
            start += 3;
        LineNumber++;
        _start = _scanned = next;
        line = _buffer.AsMemory(start, end - start);
        return true;
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _scanned -= _start;
            _start = 0;
        }
        if (_buffer.Length - _end < ReadChunk / 2)
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxLineBytes + 2 + ReadChunk));
        _beforeWaiting?.Invoke();
        int n = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (n == 0)
            _eof = true;
        _end += n;
    }

    /// <summary>Closes the stream unless it was to be left open.</summary>
    public void Dispose()
    {
        if (!_leaveOpen)
            _stream.Dispose();
    }
}
