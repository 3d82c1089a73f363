using System.Globalization;
using System.Runtime.InteropServices;
using Kiov.Cli.Commands;
using Kiov.Trace;

namespace Kiov.Tests.Trace;

/// <summary>
/// The host never reaches its own memory (docs/trace-format.md version 2, "The arena"): a trace naming an
/// address outside the arena that some runner could have mapped is a trace error on every back
/// end, found before that line runs; and kiov's own memory is left as it was.
/// </summary>
[Collection(HostCollection.Name)]
public unsafe class HostSafetyTests
{
    private static (int Exit, string Stdout, string Stderr) Replay(ReplayCommand.Mode mode, string trace)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = ReplayCommand.Run(mode, "-", new StringReader(trace), stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    // The start of a writable mapping of this very process, read from /proc/self/maps.
    private static ulong WritableMappingOfThisProcess()
    {
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            ulong start = ulong.Parse(parts[0].Split('-')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (parts[1].StartsWith("rw", StringComparison.Ordinal) && start >= TraceArena.LowNeverMappedEnd
                && start < TraceArena.HighNeverMappedStart && !TraceArena.Contains(start, 1))
                return start;
        }
        throw new InvalidOperationException("no writable mapping in /proc/self/maps");
    }

    private static string Hex(ulong addr) => $"\"0x{addr:x}\"";

    // Every op that names an address, each aimed at `addr`.
    private static IEnumerable<string> LinesAimedAt(ulong addr) =>
    [
        $"{{\"op\":\"fill\",\"addr\":{Hex(addr)},\"len\":64,\"seed\":7}}",
        $"{{\"op\":\"hash\",\"addr\":{Hex(addr)},\"len\":64}}",
        $"{{\"op\":\"write\",\"fd\":4,\"addr\":{Hex(addr)},\"len\":64}}",
        $"{{\"op\":\"read\",\"fd\":3,\"addr\":{Hex(addr)},\"len\":64}}",
        $"{{\"op\":\"readv\",\"fd\":3,\"iov\":[[\"0x100000000000\",0],[{Hex(addr)},64]]}}",
        $"{{\"op\":\"writev\",\"fd\":4,\"iov\":[[{Hex(addr)},64]]}}",
        $"{{\"op\":\"preadv\",\"fd\":3,\"iov\":[[{Hex(addr)},64]],\"offset\":0}}",
        $"{{\"op\":\"pwritev\",\"fd\":4,\"iov\":[[{Hex(addr)},64]],\"offset\":0}}",
        $"{{\"op\":\"vmsplice\",\"fd\":4,\"iov\":[[{Hex(addr)},64]]}}",
        $"{{\"op\":\"process_vm_writev\",\"local\":[[\"0x100000000000\",64]],\"remote\":[[{Hex(addr)},64]]}}",
        $"{{\"op\":\"process_vm_readv\",\"local\":[[{Hex(addr)},64]],\"remote\":[[\"0x100000000000\",64]]}}",
        $"{{\"op\":\"munmap\",\"addr\":{Hex(addr & ~0xfffUL)},\"len\":4096}}",
        $"{{\"op\":\"mprotect\",\"addr\":{Hex(addr & ~0xfffUL)},\"len\":4096,\"prot\":\"\"}}",
        $"{{\"op\":\"madvise\",\"addr\":{Hex(addr & ~0xfffUL)},\"len\":4096,\"advice\":\"dontneed\"}}",
    ];

    public static TheoryData<ReplayCommand.Mode> Modes =>
        new(ReplayCommand.Mode.Model, ReplayCommand.Mode.Host, ReplayCommand.Mode.Diff);

    [Theory]
    [MemberData(nameof(Modes))]
    public void A_trace_naming_kiovs_own_memory_is_a_trace_error_and_the_memory_is_untouched(ReplayCommand.Mode mode)
    {
        const int size = 4096;
        byte* mine = (byte*)NativeMemory.AlignedAlloc(size, 4096);
        try
        {
            new Span<byte>(mine, size).Fill(0x5a);
            foreach (ulong target in new[] { (ulong)mine, WritableMappingOfThisProcess(), 0x10000UL, 0x7ffffffe_f000UL })
            {
                foreach (string line in LinesAimedAt(target))
                {
                    var (exit, stdout, stderr) = Replay(mode, "{\"op\":\"mmap\",\"addr\":\"0x100000000000\",\"len\":4096,\"prot\":\"rw\",\"flags\":[\"private\",\"anonymous\",\"fixed\"]}\n"
                        + "{\"op\":\"pipe\"}\n" + line + "\n");
                    Assert.Equal(2, exit);
                    // Traces are streamed: the two lines before the bad one have run and printed
                    // (--diff prints nothing while the back ends agree); the bad one never runs.
                    Assert.Equal(mode == ReplayCommand.Mode.Diff ? 0 : 2, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
                    Assert.StartsWith("kiov: -:3: ", stderr);
                    Assert.Contains("outside the arena", stderr);
                    Assert.Single(stderr.TrimEnd('\n').Split('\n'));
                }
            }
            Assert.True(new Span<byte>(mine, size).IndexOfAnyExcept((byte)0x5a) < 0, "kiov's own memory changed");
        }
        finally
        {
            NativeMemory.AlignedFree(mine);
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void The_issues_munmap_of_everything_above_the_arena_is_a_trace_error_not_a_crash(ReplayCommand.Mode mode)
    {
        var (exit, stdout, stderr) = Replay(mode,
            "{\"op\":\"munmap\",\"addr\":\"0x100040000000\",\"len\":\"0x6fffbffff000\"}\n{\"op\":\"pipe\"}\n");
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith("kiov: -:1: [\"addr\" 0x100040000000, +\"len\" 0x6fffbffff000) reaches outside the arena", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Theory]
    [InlineData("{\"op\":\"fill\",\"addr\":\"0xffff888000000000\",\"len\":64,\"seed\":1}", "{\"ret\":-14}")]
    [InlineData("{\"op\":\"hash\",\"addr\":\"0xfff0\",\"len\":64}", "{\"ret\":-14}")]
    [InlineData("{\"op\":\"hash\",\"addr\":\"0x7ffffffff000\",\"len\":64}", "{\"ret\":-14}")]
    [InlineData("{\"op\":\"munmap\",\"addr\":\"0x1000\",\"len\":\"0xf000\"}", "{\"ret\":0}")]
    [InlineData("{\"op\":\"munmap\",\"addr\":\"0x800000000000\",\"len\":4096}", "{\"ret\":-22}")]
    [InlineData("{\"op\":\"munmap\",\"addr\":\"0x100000000000\",\"len\":\"-1\"}", "{\"ret\":-22}")]
    [InlineData("{\"op\":\"mprotect\",\"addr\":\"0x100000000000\",\"len\":\"0x40000000\",\"prot\":\"\"}", "{\"ret\":0}")]
    public void Addresses_no_runner_can_have_mapped_still_reach_the_kernel(string line, string expected)
    {
        foreach (var mode in new[] { ReplayCommand.Mode.Host, ReplayCommand.Mode.Model })
        {
            var (exit, stdout, stderr) = Replay(mode, line + "\n");
            Assert.Equal("", stderr);
            Assert.Equal(0, exit);
            Assert.Equal(expected + "\n", stdout);
        }
    }

    [Theory]
    [InlineData(0x100000000000UL, 0x40000000UL, true)]
    [InlineData(0x100000000000UL, 0x40001000UL, false)] // over the guard page
    [InlineData(0x0ffffffff000UL, 0x2000UL, false)]
    [InlineData(0x1000UL, 0xf000UL, true)]
    [InlineData(0x1000UL, 0xf001UL, false)]
    [InlineData(0x7ffffffff000UL, 0x1000UL, true)]
    [InlineData(0x7fffffffe000UL, 0x1000UL, false)]
    [InlineData(0x100000000000UL, ulong.MaxValue, true)] // wraps: refused before any mapping is looked at
    [InlineData(0x100040000000UL, 0UL, true)]
    [InlineData(0x100040000000UL, 1UL, false)]
    public void A_range_must_lie_wholly_in_the_arena_or_in_one_never_mapped_range(ulong addr, ulong len, bool allowed) =>
        Assert.Equal(allowed, TraceArena.MayActOn(addr, len));

    [Theory]
    [InlineData(0x100000000000UL, true)]
    [InlineData(0x10003ffff000UL, true)]
    [InlineData(0x100040000000UL, false)] // the guard page: a copy may run into it, not start there
    [InlineData(0xffffUL, true)]
    [InlineData(0x10000UL, false)]
    [InlineData(0x7fffffffefffUL, false)]
    [InlineData(0x7ffffffff000UL, true)]
    [InlineData(ulong.MaxValue, true)]
    public void A_copy_may_start_only_in_the_arena_or_where_nothing_is_ever_mapped(ulong addr, bool allowed) =>
        Assert.Equal(allowed, TraceArena.MayCopyAt(addr));
}
