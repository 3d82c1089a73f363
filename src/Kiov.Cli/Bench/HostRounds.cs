using System.Runtime.InteropServices;
using Kiov.Iov;
using static Kiov.Cli.Bench.BenchLibc;
using static Kiov.Cli.Bench.RoundCheck;

namespace Kiov.Cli.Bench;

/// <summary>
/// Buffers of the host side: a source and a destination mapped by this process for itself
/// (private, anonymous, populated), the source filled, and the two one-segment iovecs in native
/// memory. Nothing here touches the trace arena.
/// </summary>
internal sealed unsafe class HostBuffers : IDisposable
{
    private readonly nuint _len;

    public HostBuffers(int size)
    {
        _len = (nuint)Math.Max(size, 4096);
        Src = Map(_len);
        Dst = Map(_len);
        for (nuint i = 0; i < _len; i++) ((byte*)Src)[i] = (byte)(i * 7 + 1);
        SrcVec = (IoVec*)NativeMemory.Alloc((nuint)(2 * sizeof(IoVec)));
        DstVec = SrcVec + 1;
        *SrcVec = new IoVec((ulong)Src, (ulong)size);
        *DstVec = new IoVec((ulong)Dst, (ulong)size);
    }

    public nint Src { get; }
    public nint Dst { get; }
    public IoVec* SrcVec { get; }
    public IoVec* DstVec { get; }

    private static nint Map(nuint len)
    {
        nint p = Mmap(0, len, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Populate, -1, 0);
        if (p == -1) throw new InvalidOperationException($"host mmap failed: errno {Marshal.GetLastPInvokeError()}");
        return p;
    }

    public void Dispose()
    {
        NativeMemory.Free(SrcVec);
        Munmap(Src, _len);
        Munmap(Dst, _len);
    }
}

/// <summary>Host: <c>writev</c> of one segment into a pipe (1 MiB of buffers, non-blocking), then <c>readv</c>.</summary>
internal sealed unsafe class HostPipeRound : IBenchRound
{
    private readonly HostBuffers _b;
    private readonly int _rfd, _wfd;
    private readonly long _size;

    public HostPipeRound(int size)
    {
        _b = new HostBuffers(size);
        _size = size;
        int* fds = stackalloc int[2];
        Check(Pipe2(fds, OpenFlags.NonBlock), "pipe2");
        (_rfd, _wfd) = (fds[0], fds[1]);
        Check(Fcntl(_wfd, Abi.Fcntl.SetPipeSize, 1 << 20), "fcntl(F_SETPIPE_SZ)");
    }

    public void Run()
    {
        Expect(Check(Writev(_wfd, _b.SrcVec, 1), "writev"), _size, "host writev");
        Expect(Check(Readv(_rfd, _b.DstVec, 1), "readv"), _size, "host readv");
    }

    public void Dispose()
    {
        Close(_rfd);
        Close(_wfd);
        _b.Dispose();
    }
}

/// <summary>Host: <c>pwritev</c> of one segment into a memfd at offset 0, then <c>preadv</c>.</summary>
internal sealed unsafe class HostMemfdRound : IBenchRound
{
    private readonly HostBuffers _b;
    private readonly int _fd;
    private readonly long _size;

    public HostMemfdRound(int size)
    {
        _b = new HostBuffers(size);
        _size = size;
        _fd = (int)Check(MemfdCreate("kiov-bench", 0), "memfd_create");
    }

    public void Run()
    {
        Expect(Check(Pwritev(_fd, _b.SrcVec, 1, 0), "pwritev"), _size, "host pwritev");
        Expect(Check(Preadv(_fd, _b.DstVec, 1, 0), "preadv"), _size, "host preadv");
    }

    public void Dispose()
    {
        Close(_fd);
        _b.Dispose();
    }
}

/// <summary>Host: <c>process_vm_readv</c> of this process itself, one segment on each side.</summary>
internal sealed unsafe class HostProcessVmRound : IBenchRound
{
    private readonly HostBuffers _b;
    private readonly int _pid = Getpid();
    private readonly long _size;

    public HostProcessVmRound(int size)
    {
        _b = new HostBuffers(size);
        _size = size;
    }

    public void Run() =>
        Expect(Check(ProcessVmReadv(_pid, _b.DstVec, 1, _b.SrcVec, 1, 0), "process_vm_readv"), _size, "host process_vm_readv");

    public void Dispose() => _b.Dispose();
}

/// <summary>The ceiling: the bytes a round moves, copied by <see cref="Buffer.MemoryCopy"/> between
/// native buffers, as many times as the workload copies them (twice through a pipe or a file:
/// in, then out; once for process_vm_readv).</summary>
internal sealed unsafe class MemcpyRound : IBenchRound
{
    private readonly byte* _src, _mid, _dst;
    private readonly long _size;
    private readonly bool _twice;

    public MemcpyRound(int size, bool twice)
    {
        _size = size;
        _twice = twice;
        _src = (byte*)NativeMemory.AlignedAlloc((nuint)size, 4096);
        _mid = (byte*)NativeMemory.AlignedAlloc((nuint)size, 4096);
        _dst = (byte*)NativeMemory.AlignedAlloc((nuint)size, 4096);
        for (int i = 0; i < size; i++) _src[i] = (byte)(i * 7 + 1);
        new Span<byte>(_mid, size).Clear();
        new Span<byte>(_dst, size).Clear();
    }

    public void Run()
    {
        if (_twice)
        {
            Buffer.MemoryCopy(_src, _mid, _size, _size);
            Buffer.MemoryCopy(_mid, _dst, _size, _size);
        }
        else Buffer.MemoryCopy(_src, _dst, _size, _size);
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_src);
        NativeMemory.AlignedFree(_mid);
        NativeMemory.AlignedFree(_dst);
    }
}
