using Kiov.Fs;
using Kiov.Iov;
using Kiov.Tests.Fs;
using Kiov.Tests.Trace;
using Kiov.Trace;

namespace Kiov.Tests.Batch;

/// <summary>vmsplice converted to Al Viro's primitive (<see cref="KernelConfig.VmspliceBatchPrimitive"/>)
/// gives what its loop over GetPages2 gives.</summary>
public class VmspliceBatchTests
{
    private static readonly KernelConfig Batched = KernelConfig.Current with { VmspliceBatchPrimitive = true };

    public static TheoryData<string> VmspliceTraces => new(TestPaths.TraceNames.Where(n => n.Contains("vmsplice")));

    [Theory]
    [MemberData(nameof(VmspliceTraces))]
    public void TheVmspliceTracesPrintTheirExpectedOutputThroughThePrimitive(string name)
    {
        var ops = TraceReader.Read(File.ReadAllLines(Path.Combine(TestPaths.Traces, name + ".jsonl")));
        using var sys = new ModelSyscalls(HostSettings.ModelConfig() with { VmspliceBatchPrimitive = true }); // the expected output is the host's
        Assert.Equal(File.ReadAllText(Path.Combine(TestPaths.Traces, name + ".expected.jsonl")), TraceRunner.RunToString(ops, sys));
    }

    // One vmsplice of aligned and misaligned segments over more pages than the pipe holds (20 for 16
    // slots), a second one into the full pipe, then everything read back: the return values, the bytes,
    // and a later write showing through the queued pages.
    private static (long First, long Second, byte[] Read) Run(KernelConfig config)
    {
        using var f = new FsFixture(config);
        const ulong A = FsFixture.A;
        f.Map(A, 24 * 4096);
        var data = new byte[24 * 4096];
        new Random(1).NextBytes(data);
        f.Poke(A, data);
        var (r, w) = f.Pipe();
        IoVec[] iov = [new(A + 100, 4096 - 100), new(A + 4096, 3 * 4096 + 7), new(A + 9 * 4096 + 5, 100), new(A + 10 * 4096, 14 * 4096)];
        long first = Syscalls.Vmsplice(f.P, w, iov, 0);
        f.Poke(A + 100, [1, 2, 3]); // the pipe holds the user's pages, not copies
        long second = Syscalls.Vmsplice(f.P, w, iov, SpliceFlags.NonBlock);
        var outBuf = new byte[first];
        f.Map(A + 40 * 4096, 30 * 4096);
        long got = Syscalls.Read(f.P, r, A + 40 * 4096, (ulong)first);
        Assert.Equal(first, got);
        Syscalls.Close(f.P, r);
        Syscalls.Close(f.P, w);
        return (first, second, f.Peek(A + 40 * 4096, (int)got));
    }

    [Fact]
    public void VmspliceGivesTheSameResultsEitherWay()
    {
        var before = Run(KernelConfig.Current);
        var after = Run(Batched);
        Assert.Equal((before.First, before.Second), (after.First, after.Second));
        Assert.Equal(-Errno.EAGAIN, after.Second);
        Assert.Equal(before.Read, after.Read);
        Assert.Equal([1, 2, 3], after.Read[..3]);
    }
}
