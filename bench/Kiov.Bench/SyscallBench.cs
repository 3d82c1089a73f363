using BenchmarkDotNet.Attributes;
using Kiov.Fs;
using Kiov.Iov;
using Kiov.Mm;

namespace Kiov.Bench;

/// <summary>
/// The model's side of <c>kiov bench</c>, one call shape at a time: one segment of
/// <see cref="Segment"/> bytes through a pipe (writev + readv), a memfd (pwritev + preadv at 0) and
/// process_vm_readv of the process itself. <c>[MemoryDiagnoser]</c> shows what each allocates (0 B).
/// </summary>
[MemoryDiagnoser]
public class SyscallBench
{
    private const ulong Src = 0x10_0000_0000, Dst = 0x10_4000_0000;
    private Kernel _kernel = null!;
    private Kiov.Fs.Process _p = null!;
    private int _rfd, _wfd, _memfd;
    private IoVec[] _src = null!, _dst = null!;

    /// <summary>Bytes in the one segment of each call.</summary>
    [Params(512, 4 << 10, 64 << 10, 1 << 20)]
    public int Segment { get; set; }

    /// <summary>Maps and fills the buffers; opens a 1 MiB pipe and a memfd.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _kernel = new Kernel(KernelConfig.Current, 64L << 20);
        _p = _kernel.CreateProcess();
        const int Flags = MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.Populate;
        ulong len = (ulong)Math.Max(Segment, 4096);
        Check(Syscalls.Mmap(_p, Src, len, Prot.Read | Prot.Write, Flags, -1, 0));
        Check(Syscalls.Mmap(_p, Dst, len, Prot.Read | Prot.Write, Flags, -1, 0));
        Check(Syscalls.Pipe2(_p, OpenFlags.NonBlock, out _rfd, out _wfd));
        Check(Syscalls.Fcntl(_p, _wfd, Fcntl.SetPipeSize, 1 << 20));
        _memfd = (int)Check(Syscalls.MemfdCreate(_p, "bench", 0));
        _src = [new IoVec(Src, (ulong)Segment)];
        _dst = [new IoVec(Dst, (ulong)Segment)];
    }

    /// <summary>Ends the process and the machine.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _p.Dispose();
        _kernel.Dispose();
    }

    private static long Check(long r) => r >= 0 ? r : throw new InvalidOperationException($"a call failed: {r}");

    /// <summary>writev of the segment into the pipe, then readv of it.</summary>
    [Benchmark]
    public long PipeWritevReadv() => Syscalls.Writev(_p, _wfd, _src) + Syscalls.Readv(_p, _rfd, _dst);

    /// <summary>pwritev of the segment into the memfd at 0, then preadv of it.</summary>
    [Benchmark]
    public long MemfdPwritevPreadv() => Syscalls.Pwritev(_p, _memfd, _src, 0) + Syscalls.Preadv(_p, _memfd, _dst, 0);

    /// <summary>process_vm_readv of the process itself, one segment each side.</summary>
    [Benchmark]
    public long ProcessVmReadv() => Syscalls.ProcessVmReadv(_p, _p, _dst, _src, 0);
}
