using Kiov.Fs;
using Kiov.Iov;
using Kiov.Trace;
using Kiov.Trace.Fuzz;

namespace Kiov.Tests.Trace;

/// <summary>docs/trace-format.md version 2: what the reader accepts and refuses for the new ops, what they print,
/// and that the model takes the host's settings.</summary>
public class TraceV2Tests
{
    [Theory]
    [InlineData("{\"op\":\"mremap\",\"addr\":\"0x100000000000\",\"old_len\":4096,\"new_len\":8192,\"flags\":[\"maymove\"]}", "needs \"fixed\"")]
    [InlineData("{\"op\":\"mremap\",\"addr\":\"0x100000000000\",\"old_len\":4096,\"new_len\":8192,\"flags\":[\"bogus\"]}", "unknown mremap flag \"bogus\"")]
    [InlineData("{\"op\":\"mremap\",\"addr\":\"0x100000000000\",\"old_len\":4096,\"new_len\":4096,\"flags\":[\"maymove\",\"fixed\"],\"new_addr\":\"0x7f0000000000\"}", "reaches outside the arena")]
    [InlineData("{\"op\":\"mremap\",\"addr\":\"0x10003ffff000\",\"old_len\":4096,\"new_len\":8192,\"flags\":[]}", "reaches outside the arena")]
    [InlineData("{\"op\":\"mlock\",\"addr\":\"0x7f0000000000\",\"len\":4096}", "reaches outside the arena")]
    [InlineData("{\"op\":\"mincore\",\"addr\":\"0x100000000000\",\"len\":\"0x40001000\"}", "reaches outside the arena")]
    [InlineData("{\"op\":\"msync\",\"addr\":\"0x100000000000\",\"len\":1,\"flags\":[\"lazy\"]}", "unknown msync flag \"lazy\"")]
    [InlineData("{\"op\":\"writev\",\"fd\":3,\"iov_addr\":\"0x7f0000000000\",\"iovcnt\":1}", "lies outside the arena")]
    [InlineData("{\"op\":\"writev\",\"fd\":3,\"iov_addr\":\"0x100000000000\",\"iovcnt\":1,\"iov\":[]}", "not both")]
    [InlineData("{\"op\":\"process_vm_readv\",\"local_addr\":\"0x100000000000\",\"local_cnt\":1,\"remote_addr\":\"0x555555554000\",\"remote_cnt\":1}", "lies outside the arena")]
    [InlineData("{\"op\":\"poke\",\"addr\":\"0x600000000000\",\"u64\":[1]}", "lies outside the arena")]
    [InlineData("{\"op\":\"poke\",\"addr\":\"0x100000000000\",\"u64\":[\"x\"]}", "element 0 must be an integer")]
    [InlineData("{\"op\":\"reopen\",\"fd\":3,\"flags\":[\"append\"]}", "must hold one of rdonly, wronly, rdwr")]
    [InlineData("{\"op\":\"reopen\",\"fd\":3,\"flags\":[\"rdonly\",\"rdwr\"]}", "more than one of")]
    [InlineData("{\"op\":\"lseek\",\"fd\":3,\"offset\":0,\"whence\":\"middle\"}", "unknown whence \"middle\"")]
    [InlineData("{\"op\":\"fcntl\",\"fd\":3,\"cmd\":\"dupfd\"}", "unknown fcntl cmd \"dupfd\"")]
    [InlineData("{\"op\":\"fcntl\",\"fd\":3,\"cmd\":\"add_seals\",\"arg\":[\"exec\"]}", "unknown seal \"exec\"")]
    [InlineData("{\"op\":\"fcntl\",\"fd\":3,\"cmd\":\"setfl\",\"arg\":[\"direct\"]}", "unknown setfl flag \"direct\"")]
    [InlineData("{\"op\":\"preadv2\",\"fd\":3,\"iov\":[],\"offset\":0,\"flags\":[\"atomic\"]}", "unknown flag \"atomic\"")]
    [InlineData("{\"op\":\"memfd\",\"flags\":[\"hugetlb\"]}", "unknown memfd flag \"hugetlb\"")]
    [InlineData("{\"op\":\"madvise\",\"addr\":0,\"len\":1,\"advice\":\"mergeable\"}", "unknown advice \"mergeable\"")]
    public void Bad_version_2_lines_are_trace_errors(string line, string problem)
    {
        var e = Assert.Throws<TraceException>(() => TraceReader.ParseLine(line, 3));
        Assert.Contains(problem, e.Problem);
    }

    [Theory]
    [InlineData("{\"op\":\"mlock\",\"addr\":\"0x100000000000\",\"len\":\"-1\"}")]          // wraps: refused before it looks
    [InlineData("{\"op\":\"mincore\",\"addr\":\"0x1000\",\"len\":4096}")]                    // below mmap_min_addr
    [InlineData("{\"op\":\"msync\",\"addr\":\"0xffff888000000000\",\"len\":4096,\"flags\":[]}")] // past TASK_SIZE
    [InlineData("{\"op\":\"writev\",\"fd\":3,\"iov_addr\":\"0x0\",\"iovcnt\":1}")]
    public void Ranges_no_runner_can_map_are_allowed(string line) => Assert.NotNull(TraceReader.ParseLine(line, 1));

    [Fact]
    public void Mincore_prints_one_character_a_page_and_getfl_is_masked()
    {
        Assert.Equal("{\"ret\":0,\"vec\":\"0110\"}", new TraceResult(0, Vec: "0110").ToJson());
        Assert.Equal("{\"ret\":-12}", new TraceResult(-12, Vec: "01").ToJson());
        var op = (FcntlOp)TraceReader.ParseLine("{\"op\":\"fcntl\",\"fd\":3,\"cmd\":\"getfl\"}", 1)!;
        Assert.Equal(OpenFlags.AccMode | OpenFlags.Append | OpenFlags.NonBlock, op.Mask);
    }

    [Fact]
    public void The_model_takes_the_host_settings_the_host_back_end_reports()
    {
        using var model = new ModelSyscalls();
        Assert.Equal(HostSettings.Current, model.Kernel.Config.Limits);
        Assert.StartsWith("host: pipe-max-size=", HostSettings.Describe(HostSettings.Current));
    }

    [Fact]
    public void An_iovec_array_in_user_memory_gives_einval_for_a_negative_length_before_a_later_fault()
    {
        using var model = new ModelSyscalls();
        Assert.Equal((long)TraceArena.Start, model.Mmap(TraceArena.Start, 4096, Kiov.Abi.Prot.Read | Kiov.Abi.Prot.Write,
            Kiov.Abi.MapFlags.Private | Kiov.Abi.MapFlags.Anonymous | Kiov.Abi.MapFlags.Fixed, -1, 0));
        long fd = model.Memfd();
        // Element 0 sits in the last 16 bytes of the page: its length is negative; element 1 faults.
        ulong at = TraceArena.Start + 4096 - 16;
        Span<byte> words = stackalloc byte[16];
        BitConverter.TryWriteBytes(words, TraceArena.Start);
        BitConverter.TryWriteBytes(words[8..], ulong.MaxValue);
        Assert.Equal(16, model.Poke(at, words));
        Assert.Equal(-Errno.EINVAL, model.VectorAt(VectorCall.Writev, (int)fd, at, 2, 0, 0));
        // A positive length, then the fault of element 1: EFAULT.
        BitConverter.TryWriteBytes(words[8..], 10UL);
        Assert.Equal(16, model.Poke(at, words));
        Assert.Equal(-Errno.EFAULT, model.VectorAt(VectorCall.Writev, (int)fd, at, 2, 0, 0));
        Assert.Equal(10, model.VectorAt(VectorCall.Writev, (int)fd, at, 1, 0, 0));
        Assert.Equal(-Errno.EINVAL, model.VectorAt(VectorCall.Writev, (int)fd, at, IovLimits.MaxIov + 1, 0, 0));
        Assert.Equal(10, model.VectorAt(VectorCall.Writev, (int)fd, at, (1UL << 32) + 1, 0, 0)); // cut to 32 bits
    }

    [Fact]
    public void The_generator_makes_every_version_2_op()
    {
        var lines = Enumerable.Range(0, 8).SelectMany(s => TraceGenerator.Generate((ulong)s, 500)).ToList();
        string[] ops = ["reopen", "dup", "lseek", "fcntl", "tee", "preadv2", "pwritev2", "poke", "mremap", "mlock",
            "munlock", "msync", "mincore", "iov_addr", "local_addr", "allow_sealing", "fixed_noreplace", "populate"];
        foreach (string op in ops) Assert.Contains(lines, l => l.Contains(op, StringComparison.Ordinal));
        string[] advices = ["normal", "random", "sequential", "willneed", "dontneed", "free", "remove", "dontfork",
            "dofork", "wipeonfork", "keeponfork", "cold", "pageout", "populate_read", "populate_write"];
        foreach (string a in advices) Assert.Contains(lines, l => l.Contains($"\"advice\":\"{a}\"", StringComparison.Ordinal));
        foreach (string line in lines) Assert.NotNull(TraceReader.ParseLine(line, 1));
    }

    [Fact]
    public void Madv_free_is_generated_only_with_a_fill_of_the_same_range_right_after()
    {
        int seen = 0;
        for (ulong seed = 0; seed < 8; seed++)
        {
            // A trace cut at its last line may end with the free: nothing after it reads the memory.
            var lines = TraceGenerator.Generate(seed, 500);
            for (int i = 0; i < lines.Count - 1; i++)
            {
                if (!lines[i].Contains("\"advice\":\"free\"", StringComparison.Ordinal)) continue;
                var free = (MadviseOp)TraceReader.ParseLine(lines[i], 1)!;
                var fill = Assert.IsType<FillOp>(TraceReader.ParseLine(lines[i + 1], 2));
                Assert.Equal((free.Addr, free.Len), (fill.Addr, fill.Len));
                seen++;
            }
        }
        Assert.True(seen > 0);
    }
}
