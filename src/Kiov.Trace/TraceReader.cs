using Kiov.Mm;
using Kiov.Iov;
using System.Text;
using System.Text.Json;

namespace Kiov.Trace;

/// <summary>
/// Parses a trace (docs/trace-format.md, JSON Lines) into <see cref="TraceOp"/>s, by the lexical rules of
/// docs/trace-format.md ("Lexical rules"), the same for a file, standard input, text or a list of lines.
/// Blank lines and lines starting with <c>#</c> (after leading spaces and tabs) are skipped.
/// Everything else must be a JSON object with a known string <c>op</c> and its fields; otherwise a
/// <see cref="TraceException"/> names the 1-based line. Fields beyond those an op needs are ignored.
/// </summary>
internal static class TraceReader
{
    private delegate TraceOp Parser(TraceFields f);

    private static readonly Dictionary<string, Parser> Parsers = new(StringComparer.Ordinal)
    {
        ["mmap"] = ParseMmap,
        ["munmap"] = f => new MunmapOp(f.Line, f.RangeAddress("addr", "len"), f.U64("len")),
        ["mprotect"] = f => new MprotectOp(f.Line, f.RangeAddress("addr", "len"), f.U64("len"), Prot(f)),
        ["madvise"] = f => new MadviseOp(f.Line, f.RangeAddress("addr", "len"), f.U64("len"), Advice(f)),
        ["fill"] = f => new FillOp(f.Line, f.CopyAddress("addr"), f.U64("len"), f.U32("seed")),
        ["hash"] = f => new HashOp(f.Line, f.CopyAddress("addr"), f.U64("len")),
        ["pipe"] = f => new PipeOp(f.Line),
        ["memfd"] = TraceParsersV2.Memfd,
        ["ftruncate"] = f => new FtruncateOp(f.Line, f.Int("fd"), f.I64("len")),
        ["close"] = f => new CloseOp(f.Line, f.Int("fd")),
        ["read"] = f => new ReadOp(f.Line, f.Int("fd"), f.CopyAddress("addr"), f.U64("len")),
        ["write"] = f => new WriteOp(f.Line, f.Int("fd"), f.CopyAddress("addr"), f.U64("len")),
        ["readv"] = f => TraceParsersV2.Vector(f, VectorCall.Readv, iov => new ReadvOp(f.Line, f.Int("fd"), iov)),
        ["writev"] = f => TraceParsersV2.Vector(f, VectorCall.Writev, iov => new WritevOp(f.Line, f.Int("fd"), iov)),
        ["preadv"] = f => TraceParsersV2.Vector(f, VectorCall.Preadv, iov => new PreadvOp(f.Line, f.Int("fd"), iov, f.I64("offset"))),
        ["pwritev"] = f => TraceParsersV2.Vector(f, VectorCall.Pwritev, iov => new PwritevOp(f.Line, f.Int("fd"), iov, f.I64("offset"))),
        ["process_vm_readv"] = f => TraceParsersV2.ProcessVm(f, false, () => new ProcessVmReadvOp(f.Line, f.CopyIoVecs("local"), f.CopyIoVecs("remote"))),
        ["process_vm_writev"] = f => TraceParsersV2.ProcessVm(f, true, () => new ProcessVmWritevOp(f.Line, f.CopyIoVecs("local"), f.CopyIoVecs("remote"))),
        ["vmsplice"] = f => TraceParsersV2.Vector(f, VectorCall.Vmsplice, iov => new VmspliceOp(f.Line, f.Int("fd"), iov)),
        ["splice"] = f => new SpliceOp(f.Line, f.Int("fd_in"), f.NullableI64("off_in"),
                                       f.Int("fd_out"), f.NullableI64("off_out"), f.U64("len")),
        ["par"] = f => ParOp.Parse(f, op => ParseObject(new TraceFields(op, f.Line))),
        ["fork"] = ProcessFields.Fork,
        ["exit"] = ProcessFields.Exit,
        ["mem_read"] = ProcessFields.MemRead,
        ["mem_write"] = ProcessFields.MemWrite,
        ["reopen"] = TraceParsersV2.Reopen,
        ["dup"] = f => new DupOp(f.Line, f.Int("fd")),
        ["lseek"] = TraceParsersV2.Lseek,
        ["fcntl"] = TraceParsersV2.Fcntl,
        ["tee"] = TraceParsersV2.Tee,
        ["preadv2"] = TraceParsersV2.Preadv2,
        ["pwritev2"] = TraceParsersV2.Pwritev2,
        ["poke"] = TraceParsersV2.Poke,
        ["mremap"] = TraceParsersV2.Mremap,
        ["mlock"] = f => TraceParsersV2.Mlock(f, true),
        ["munlock"] = f => TraceParsersV2.Mlock(f, false),
        ["msync"] = TraceParsersV2.Msync,
        ["mincore"] = TraceParsersV2.Mincore,
    };

    /// <summary>Reads a whole trace from text, by the same rules as a stream of bytes
    /// (<see cref="Read(Stream)"/>): the text is taken as its UTF-8 encoding.</summary>
    /// <param name="reader">The trace text.</param>
    /// <returns>The operations, in order, one per line that prints.</returns>
    /// <exception cref="TraceException">A line is not a valid operation.</exception>
    public static List<TraceOp> Read(TextReader reader) =>
        Read(new MemoryStream(new UTF8Encoding(false).GetBytes(reader.ReadToEnd())));

    /// <summary>Reads a whole trace from its bytes (docs/trace-format.md ("Lexical rules")).</summary>
    /// <param name="stream">The trace's bytes; left open.</param>
    /// <returns>The operations, in order, one per line that prints.</returns>
    /// <exception cref="TraceException">A line is not a valid operation.</exception>
    public static List<TraceOp> Read(Stream stream)
    {
        var ops = new List<TraceOp>();
        using var lines = new TraceLineReader(stream, leaveOpen: true);
        while (lines.TryReadLine(out ReadOnlyMemory<byte> line))
        {
            if (ParseLine(line, lines.LineNumber) is { } op)
                ops.Add(op);
        }
        return ops;
    }

    /// <summary>Reads a whole trace given as its lines (line numbers count from 1), by the rules
    /// of a stream holding those lines each ended by a line feed.</summary>
    /// <param name="lines">The trace's lines, without line ends.</param>
    /// <returns>The operations, in order, one per line that prints.</returns>
    /// <exception cref="TraceException">A line is not a valid operation.</exception>
    public static List<TraceOp> Read(IReadOnlyList<string> lines)
    {
        var ops = new List<TraceOp>();
        for (int i = 0; i < lines.Count; i++)
        {
            string text = i == 0 && lines[i].StartsWith('\uFEFF') ? lines[i][1..] : lines[i];
            if (text.EndsWith('\r'))
                text = text[..^1];
            if (text.Length > TraceLineReader.MaxLineBytes / 3 && Encoding.UTF8.GetByteCount(text) > TraceLineReader.MaxLineBytes)
                throw new TraceException(i + 1, $"line longer than the limit of {TraceLineReader.MaxLineBytes} bytes (1 MiB)");
            if (ParseLine(text, i + 1) is { } op)
                ops.Add(op);
        }
        return ops;
    }

    /// <summary>Parses one line.</summary>
    /// <param name="text">The line, without its line end.</param>
    /// <param name="line">Its 1-based line number.</param>
    /// <returns>The operation, or null for a blank or comment line.</returns>
    /// <exception cref="TraceException">The line is not a valid operation.</exception>
    public static TraceOp? ParseLine(string text, int line) =>
        ParseLine(Encoding.UTF8.GetBytes(text), line);

    /// <summary>Parses one line given as its UTF-8 bytes (docs/trace-format.md ("Lexical rules")): blank
    /// and comment lines give null; else the line must be valid UTF-8 and one JSON object, nested
    /// at most <see cref="TraceSyntax.MaxDepth"/> deep, with no key twice in an object, holding a
    /// known <c>op</c>.</summary>
    /// <param name="utf8">The line, without its line end.</param>
    /// <param name="line">Its 1-based line number.</param>
    /// <returns>The operation, or null for a blank or comment line.</returns>
    /// <exception cref="TraceException">The line is not a valid operation.</exception>
    public static TraceOp? ParseLine(ReadOnlyMemory<byte> utf8, int line)
    {
        if (TraceSyntax.IsBlankOrComment(utf8.Span))
            return null;
        TraceSyntax.Check(utf8.Span, line);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8);
        }
        catch (JsonException e)
        {
            throw new TraceException(line, $"not valid JSON (column {(e.BytePositionInLine ?? 0) + 1})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new TraceException(line, "not a JSON object");
            return ParseObject(new TraceFields(doc.RootElement, line));
        }
    }

    private static TraceOp ParseObject(TraceFields fields)
    {
        string op = fields.String("op");
        return Parsers.TryGetValue(op, out Parser? parse)
            ? ProcessFields.Apply(parse(fields), fields)
            : throw fields.Error($"unknown op {TraceException.Quote(op)}");
    }

    private static MmapOp ParseMmap(TraceFields f)
    {
        ulong addr = f.U64("addr");
        ulong len = f.U64("len");
        int prot = Prot(f);
        int flags = 0;
        foreach (string word in f.Words("flags"))
        {
            flags |= word switch
            {
                "private" => MapFlags.Private,
                "shared" => MapFlags.Shared,
                "fixed" => MapFlags.Fixed,
                "anonymous" => MapFlags.Anonymous,
                _ => TraceParsersV2.MmapFlag(word) is int v2 and not 0 ? v2
                    : throw f.Error($"unknown mmap flag {TraceException.Quote(word)} (private, shared, shared_validate, fixed, fixed_noreplace, anonymous, populate, noreserve, locked, growsdown)"),
            };
        }
        if ((flags & (MapFlags.Fixed | MapFlags.FixedNoReplace)) == 0)
            throw f.Error("mmap flags must hold \"fixed\" or \"fixed_noreplace\": a trace maps at fixed addresses in the arena");
        if (!TraceArena.Contains(addr, len))
            throw f.Error($"mmap of [0x{addr:x}, +0x{len:x}) lies outside the arena [0x{TraceArena.Start:x}, 0x{TraceArena.End:x})");
        bool anonymous = (flags & MapFlags.Anonymous) != 0;
        if (!anonymous || f.Has("fd") || f.Has("offset"))
            return new MmapOp(f.Line, addr, len, prot, flags, f.Int("fd"), f.I64("offset"));
        return new MmapOp(f.Line, addr, len, prot, flags, -1, 0);
    }

    private static int Prot(TraceFields f)
    {
        int prot = Abi.Prot.None;
        foreach (char c in f.String("prot"))
        {
            prot |= c switch
            {
                'r' => Abi.Prot.Read,
                'w' => Abi.Prot.Write,
                'x' => Abi.Prot.Exec,
                _ => throw f.Error($"unknown prot letter {TraceException.Quote(c.ToString())} (a subset of \"rwx\")"),
            };
        }
        return prot;
    }

    private static int Advice(TraceFields f)
    {
        return TraceParsersV2.Advice(f);
    }
}
