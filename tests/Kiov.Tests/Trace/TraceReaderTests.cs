using Kiov.Iov;
using Kiov.Trace;

namespace Kiov.Tests.Trace;

public class TraceReaderTests
{
    private const string Anon = "\"prot\":\"rw\",\"flags\":[\"private\",\"anonymous\",\"fixed\"]";

    private static TraceOp Parse(string line) => TraceReader.ParseLine(line, 1)!;

    private static ulong Len(string number) =>
        ((HashOp)Parse($"{{\"op\":\"hash\",\"addr\":0,\"len\":{number}}}")).Len;

    [Theory]
    [InlineData("4096", 4096UL)]
    [InlineData("\"4096\"", 4096UL)]
    [InlineData("\"0x1f\"", 0x1fUL)]
    [InlineData("\"0X1F\"", 0x1fUL)]
    [InlineData("\"-1\"", ulong.MaxValue)]
    [InlineData("-1", ulong.MaxValue)]
    [InlineData("\"-0x1000\"", 0xfffffffffffff000UL)]
    [InlineData("\"0xffffffffffffffff\"", ulong.MaxValue)]
    [InlineData("\"18446744073709551615\"", ulong.MaxValue)]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    [InlineData("9007199254740993", 9007199254740993UL)]
    [InlineData("-9223372036854775808", 0x8000000000000000UL)]
    [InlineData("\"-9223372036854775808\"", 0x8000000000000000UL)]
    [InlineData("4096.0", 4096UL)]
    [InlineData("1e3", 1000UL)]
    [InlineData("0", 0UL)]
    public void Integers_in_every_form(string json, ulong expected) => Assert.Equal(expected, Len(json));

    [Theory]
    [InlineData("1.5")]
    [InlineData("18446744073709551616")]
    [InlineData("-9223372036854775809")]
    [InlineData("1e30")]
    [InlineData("\"0x10000000000000000\"")]
    [InlineData("\"0x\"")]
    [InlineData("\"\"")]
    [InlineData("\"12a\"")]
    [InlineData("\"+5\"")]
    [InlineData("\" 5\"")]
    [InlineData("\"-\"")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("[1]")]
    public void Non_integers_are_trace_errors(string json)
    {
        var e = Assert.Throws<TraceException>(() => Len(json));
        Assert.Contains("\"len\"", e.Problem);
    }

    [Fact]
    public void Blank_and_comment_lines_print_nothing_and_keep_line_numbers()
    {
        var ops = TraceReader.Read(new StringReader("# a comment\n\n   \n  # indented\n{\"op\":\"pipe\"}\r\n{\"op\":\"memfd\"}"));
        Assert.Equal([new PipeOp(5), new MemfdOp(6)], ops);
    }

    [Fact]
    public void Every_op_parses_into_its_record()
    {
        const string A = "\"0x100000000000\"";
        string trace = string.Join('\n',
            $"{{\"op\":\"mmap\",\"addr\":{A},\"len\":16384,{Anon}}}",
            $"{{\"op\":\"mmap\",\"addr\":{A},\"len\":4096,\"prot\":\"\",\"flags\":[\"shared\",\"fixed\"],\"fd\":3,\"offset\":\"0x1000\"}}",
            $"{{\"op\":\"munmap\",\"addr\":{A},\"len\":4096}}",
            $"{{\"op\":\"mprotect\",\"addr\":{A},\"len\":4096,\"prot\":\"rx\"}}",
            $"{{\"op\":\"madvise\",\"addr\":{A},\"len\":4096,\"advice\":\"dontneed\"}}",
            $"{{\"op\":\"fill\",\"addr\":{A},\"len\":10,\"seed\":\"0xffffffff\"}}",
            "{\"op\":\"ftruncate\",\"fd\":3,\"len\":\"-1\"}",
            "{\"op\":\"close\",\"fd\":99}",
            $"{{\"op\":\"read\",\"fd\":3,\"addr\":{A},\"len\":1}}",
            $"{{\"op\":\"write\",\"fd\":4,\"addr\":{A},\"len\":2}}",
            $"{{\"op\":\"readv\",\"fd\":3,\"iov\":[[{A},1],[\"0x0\",\"-1\"]]}}",
            "{\"op\":\"writev\",\"fd\":4,\"iov\":[]}",
            $"{{\"op\":\"preadv\",\"fd\":3,\"iov\":[[{A},1]],\"offset\":-1}}",
            $"{{\"op\":\"pwritev\",\"fd\":3,\"iov\":[[{A},1]],\"offset\":7}}",
            $"{{\"op\":\"process_vm_readv\",\"local\":[[{A},1]],\"remote\":[[1,2]]}}",
            $"{{\"op\":\"process_vm_writev\",\"local\":[],\"remote\":[[1,2]]}}",
            $"{{\"op\":\"vmsplice\",\"fd\":4,\"iov\":[[{A},1]]}}",
            "{\"op\":\"splice\",\"fd_in\":5,\"off_in\":0,\"fd_out\":4,\"off_out\":null,\"len\":8000}");
        var ops = TraceReader.Read(new StringReader(trace));
        const ulong a = TraceArena.Start;
        IoVec[] one = [new(a, 1)];
        Assert.Equal(new MmapOp(1, a, 16384, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0), ops[0]);
        Assert.Equal(new MmapOp(2, a, 4096, Prot.None, MapFlags.Shared | MapFlags.Fixed, 3, 0x1000), ops[1]);
        Assert.Equal(new MunmapOp(3, a, 4096), ops[2]);
        Assert.Equal(new MprotectOp(4, a, 4096, 5), ops[3]);
        Assert.Equal(new MadviseOp(5, a, 4096, 4), ops[4]);
        Assert.Equal(new FillOp(6, a, 10, uint.MaxValue), ops[5]);
        Assert.Equal(new FtruncateOp(7, 3, -1), ops[6]);
        Assert.Equal(new CloseOp(8, 99), ops[7]);
        Assert.Equal(new ReadOp(9, 3, a, 1), ops[8]);
        Assert.Equal(new WriteOp(10, 4, a, 2), ops[9]);
        Assert.Equal([new IoVec(a, 1), new IoVec(0, ulong.MaxValue)], ((ReadvOp)ops[10]).Iov);
        Assert.Empty(((WritevOp)ops[11]).Iov);
        Assert.Equal(-1, ((PreadvOp)ops[12]).Offset);
        Assert.Equal(one, ((PwritevOp)ops[13]).Iov);
        Assert.Equal([new IoVec(1, 2)], ((ProcessVmReadvOp)ops[14]).Remote);
        Assert.Empty(((ProcessVmWritevOp)ops[15]).Local);
        Assert.Equal(one, ((VmspliceOp)ops[16]).Iov);
        Assert.Equal(new SpliceOp(18, 5, 0, 4, null, 8000), ops[17]);
    }

    [Theory]
    [InlineData("{\"op\":\"pipe\"", "not valid JSON")]
    [InlineData("{\"op\":\"pipe\"} x", "not valid JSON")]
    [InlineData("[1,2]", "not a JSON object")]
    [InlineData("\"pipe\"", "not a JSON object")]
    [InlineData("{\"fd\":3}", "missing field \"op\"")]
    [InlineData("{\"op\":3}", "field \"op\" must be a string")]
    [InlineData("{\"op\":\"clone\"}", "unknown op \"clone\"")]
    [InlineData("{\"op\":\"close\"}", "missing field \"fd\"")]
    [InlineData("{\"op\":\"close\",\"fd\":\"three\"}", "field \"fd\" must be an integer")]
    [InlineData("{\"op\":\"close\",\"fd\":\"0x100000000\"}", "field \"fd\" does not fit in an int")]
    [InlineData("{\"op\":\"fill\",\"addr\":0,\"len\":1,\"seed\":\"0x100000000\"}", "field \"seed\" does not fit in 32 bits")]
    [InlineData("{\"op\":\"readv\",\"fd\":3,\"iov\":5}", "field \"iov\" must be an iovec list")]
    [InlineData("{\"op\":\"readv\",\"fd\":3,\"iov\":[[1]]}", "field \"iov\" element 0 must be a pair")]
    [InlineData("{\"op\":\"readv\",\"fd\":3,\"iov\":[[1,2],[3,\"x\"]]}", "field \"iov[1] len\" must be an integer")]
    [InlineData("{\"op\":\"splice\",\"fd_in\":3,\"fd_out\":4,\"off_out\":null,\"len\":1}", "missing field \"off_in\"")]
    [InlineData("{\"op\":\"mprotect\",\"addr\":0,\"len\":1,\"prot\":\"rq\"}", "unknown prot letter \"q\"")]
    [InlineData("{\"op\":\"mprotect\",\"addr\":0,\"len\":1,\"prot\":7}", "field \"prot\" must be a string")]
    [InlineData("{\"op\":\"madvise\",\"addr\":0,\"len\":1,\"advice\":\"hugepage\"}", "unknown advice \"hugepage\"")]
    [InlineData("{\"op\":\"mmap\",\"addr\":\"0x100000000000\",\"len\":1,\"prot\":\"r\",\"flags\":[\"private\",\"anonymous\",\"fixed\",\"hugetlb\"]}", "unknown mmap flag \"hugetlb\"")]
    [InlineData("{\"op\":\"mmap\",\"addr\":\"0x100000000000\",\"len\":1,\"prot\":\"r\",\"flags\":\"fixed\"}", "field \"flags\" must be an array of strings")]
    [InlineData("{\"op\":\"mmap\",\"addr\":\"0x100000000000\",\"len\":1,\"prot\":\"r\",\"flags\":[\"private\",\"anonymous\"]}", "must hold \"fixed\"")]
    [InlineData("{\"op\":\"mmap\",\"addr\":\"0x100000000000\",\"len\":1,\"prot\":\"r\",\"flags\":[\"shared\",\"fixed\"]}", "missing field \"fd\"")]
    [InlineData("{\"op\":\"mmap\",\"addr\":\"0x100000000000\",\"len\":1,\"prot\":\"r\",\"flags\":[\"shared\",\"fixed\"],\"fd\":3}", "missing field \"offset\"")]
    public void Bad_lines_are_trace_errors_naming_the_problem(string line, string problem)
    {
        var e = Assert.Throws<TraceException>(() => TraceReader.ParseLine(line, 7));
        Assert.Equal(7, e.Line);
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void A_trace_error_names_its_line_number_counting_skipped_lines()
    {
        var e = Assert.Throws<TraceException>(() =>
            TraceReader.Read(new StringReader("{\"op\":\"pipe\"}\n# comment\n\n{\"op\":\"nope\"}\n{\"op\":\"pipe\"}")));
        Assert.Equal(4, e.Line);
        Assert.Equal("line 4: unknown op \"nope\"", e.Message);
    }

    [Theory]
    [InlineData("0x100000000000", "0x40000000", true)]
    [InlineData("0x100000000000", "0", true)]
    [InlineData("0x10003ffff000", "4096", true)]
    [InlineData("0x100040000000", "0", true)]
    [InlineData("0x10003ffff000", "4097", false)]
    [InlineData("0x100000000000", "0x40001000", false)]
    [InlineData("0x100040000000", "4096", false)]
    [InlineData("0xfffff000", "4096", false)]
    [InlineData("0x0", "4096", false)]
    [InlineData("0x100000000000", "-1", false)]
    [InlineData("0xffff888000000000", "4096", false)]
    public void Mmap_must_lie_inside_the_arena(string addr, string len, bool inside)
    {
        string line = $"{{\"op\":\"mmap\",\"addr\":\"{addr}\",\"len\":\"{len}\",{Anon}}}";
        if (inside)
        {
            Assert.IsType<MmapOp>(TraceReader.ParseLine(line, 1));
            return;
        }
        var e = Assert.Throws<TraceException>(() => TraceReader.ParseLine(line, 3));
        Assert.Equal(3, e.Line);
        Assert.Contains("outside the arena", e.Problem);
    }

    [Fact]
    public void Other_ops_may_name_any_address()
    {
        var op = (HashOp)Parse("{\"op\":\"hash\",\"addr\":\"0xffff888000000000\",\"len\":1}");
        Assert.Equal(0xffff888000000000UL, op.Addr);
    }

    // The lexical rules (docs/trace-format.md ("Lexical rules")), the same whichever way the trace comes in.

    [Theory]
    [InlineData("\"0x00000000000000000000001f\"", 0x1fUL)]
    [InlineData("\"0000000000000000000000031\"", 31UL)]
    [InlineData("\"-0x0000000000000000001\"", ulong.MaxValue)]
    [InlineData("\"-00001\"", ulong.MaxValue)]
    [InlineData("\"0x0000\"", 0UL)]
    public void Leading_zeros_are_allowed_in_hex_and_decimal_alike(string json, ulong bits)
    {
        var op = (HashOp)Parse($"{{\"op\":\"hash\",\"addr\":{json},\"len\":0}}");
        Assert.Equal(bits, op.Addr);
    }

    [Theory]
    [InlineData("{\"op\":\"hash\",\"addr\":007,\"len\":0}", "not valid JSON")] // JSON numbers follow JSON
    [InlineData("{\"op\":\"close\",\"fd\":3,\"fd\":4}", "key \"fd\" given twice")]
    [InlineData("{\"op\":\"pipe\",\"x\":{\"a\":1,\"a\":2}}", "key \"a\" given twice")]
    [InlineData("{\"op\":\"pipe\",\"op\":\"memfd\"}", "key \"op\" given twice")]
    [InlineData("{\"op\":\"pipe\",\"x\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}", "nested more than 16 deep")]
    public void Lexical_errors_say_what_is_wrong(string line, string problem)
    {
        var e = Assert.Throws<TraceException>(() => TraceReader.ParseLine(line, 2));
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void Fifteen_levels_of_nesting_are_allowed_and_keys_may_repeat_in_different_objects()
    {
        Assert.IsType<PipeOp>(Parse("{\"op\":\"pipe\",\"x\":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}"));
        Assert.IsType<PipeOp>(Parse("{\"op\":\"pipe\",\"x\":{\"op\":1},\"y\":{\"op\":2}}"));
    }

    [Fact]
    public void Invalid_utf8_is_a_trace_error_but_a_comment_is_not_read()
    {
        byte[] bad = [.. "{\"op\":\""u8, 0xff, .. "\"}\n"u8];
        var e = Assert.Throws<TraceException>(() => TraceReader.Read(new MemoryStream(bad)));
        Assert.Equal("not valid UTF-8", e.Problem);
        byte[] comment = [.. "# \xff "u8, 0xfe, .. "\n{\"op\":\"pipe\"}\n"u8];
        Assert.Single(TraceReader.Read(new MemoryStream(comment)));
    }

    [Fact]
    public void A_byte_order_mark_is_skipped_at_the_start_only_from_bytes_text_and_lines_alike()
    {
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. "{\"op\":\"pipe\"}\r\n{\"op\":\"memfd\"}"u8];
        Assert.Equal(2, TraceReader.Read(new MemoryStream(bytes)).Count);
        Assert.Equal(2, TraceReader.Read(new StringReader("\uFEFF{\"op\":\"pipe\"}\n{\"op\":\"memfd\"}")).Count);
        Assert.Equal(2, TraceReader.Read(["\uFEFF{\"op\":\"pipe\"}", "{\"op\":\"memfd\"}"]).Count);
        Assert.Throws<TraceException>(() => TraceReader.Read(["{\"op\":\"pipe\"}", "\uFEFF{\"op\":\"memfd\"}"]));
        Assert.Throws<TraceException>(() => TraceReader.Read(new StringReader("{\"op\":\"pipe\"}\n\uFEFF{\"op\":\"memfd\"}")));
    }

    [Fact]
    public void A_line_may_be_one_mebibyte_and_no_longer()
    {
        string Line(int length) => "{\"op\":\"pipe\",\"x\":\"" + new string('a', length - 20) + "\"}";
        Assert.Equal(TraceLineReader.MaxLineBytes, Line(TraceLineReader.MaxLineBytes).Length);
        Assert.Single(TraceReader.Read(new StringReader(Line(TraceLineReader.MaxLineBytes) + "\r\n")));
        Assert.Single(TraceReader.Read([Line(TraceLineReader.MaxLineBytes)]));
        var e = Assert.Throws<TraceException>(() => TraceReader.Read(new StringReader("\n" + Line(TraceLineReader.MaxLineBytes + 1))));
        Assert.Equal((2, "line longer than the limit of 1048576 bytes (1 MiB)"), (e.Line, e.Problem));
        Assert.Throws<TraceException>(() => TraceReader.Read([Line(TraceLineReader.MaxLineBytes + 1)]));
    }

    [Fact]
    public void A_quoted_piece_of_input_is_escaped_and_cut()
    {
        Assert.Equal("\"a\\u000ab\\\"c\"", TraceException.Quote("a\nb\"c"));
        string cut = TraceException.Quote(new string('z', 1000));
        Assert.Equal("\"" + new string('z', TraceException.MaxQuoted) + "\"... (1000 characters)", cut);
    }
}
