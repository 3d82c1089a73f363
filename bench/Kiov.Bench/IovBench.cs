using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Uaccess;

namespace Kiov.Bench;

/// <summary>
/// <c>copy_to_iter</c>/<c>copy_from_iter</c> over 64 MiB cut into segments of <see cref="SegmentSize"/>,
/// for IOVEC (user memory, through the page tables), BVEC (page pieces) and KVEC (direct-map
/// addresses), against a plain <see cref="Buffer.MemoryCopy"/> of the same 64 MiB as the baseline.
/// Run: <c>dotnet run -c Release --project bench/Kiov.Bench -- --filter '*Iov*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public unsafe class IovBench
{
    private const int Total = 64 << 20;
    private const ulong UserBase = 0x1000_0000_0000;

    /// <summary>The length of every segment.</summary>
    [Params(512, 4096, 65536, 1 << 20)]
    public int SegmentSize { get; set; }

    /// <summary>The iterator kind.</summary>
    [Params(IterType.Iovec, IterType.Bvec, IterType.Kvec)]
    public IterType Kind { get; set; }

    private PhysicalMemory _mem = null!;
    private KernelSpace _kernel = null!;
    private AddressSpace _mm = null!;
    private Page _run;
    private byte* _src, _dst;
    private IoVec[] _iov = [];
    private BioVec[] _bvec = [];

    /// <summary>Maps and faults in 64 MiB of user memory, allocates 64 MiB of contiguous frames, and
    /// builds the segment arrays once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _mem = new PhysicalMemory(192L << 20) { PagePoisoning = false };
        _kernel = new KernelSpace(_mem);
        _mm = new AddressSpace(_kernel);
        _src = (byte*)NativeMemory.AlignedAlloc(Total, 4096);
        _dst = (byte*)NativeMemory.AlignedAlloc(Total, 4096);
        new Span<byte>(_src, Total).Fill(0x5a);
        new Span<byte>(_dst, Total).Clear();
        int nseg = Total / SegmentSize;
        switch (Kind)
        {
            case IterType.Iovec:
                if (_mm.Mmap(UserBase, Total, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed) != (long)UserBase)
                    throw new InvalidOperationException("mmap failed");
                if (UserAccess.CopyToUser(_mm, UserBase, _src, Total) != 0) throw new InvalidOperationException("prefault failed");
                _iov = new IoVec[nseg];
                for (int s = 0; s < nseg; s++) _iov[s] = new IoVec(UserBase + (ulong)s * (ulong)SegmentSize, (ulong)SegmentSize);
                break;
            case IterType.Bvec:
            case IterType.Kvec:
                _run = _mem.AllocContiguous(Total / PageGeometry.PageSize, PageOwner.KernelBuffer);
                if (_run.IsNull) throw new InvalidOperationException("no contiguous run");
                _bvec = new BioVec[nseg];
                _iov = new IoVec[nseg];
                for (int s = 0; s < nseg; s++)
                {
                    long at = (long)s * SegmentSize;
                    _bvec[s] = new BioVec(_run.Nth((int)(at >> PageGeometry.PageShift)), (uint)SegmentSize, (uint)(at & (PageGeometry.PageSize - 1)));
                    _iov[s] = new IoVec(PhysicalMemory.KernelAddress(_run) + (ulong)at, (ulong)SegmentSize);
                }
                break;
        }
    }

    private IovIter Make(bool source) => Kind switch
    {
        IterType.Iovec => IovIter.Init(source, _mm, _iov, _iov.Length, Total),
        IterType.Bvec => IovIter.Bvec(source, _kernel, _bvec, _bvec.Length, Total),
        _ => IovIter.Kvec(source, _kernel, _iov, _iov.Length, Total),
    };

    /// <summary>The baseline: one <see cref="Buffer.MemoryCopy"/> of 64 MiB.</summary>
    [Benchmark(Baseline = true)]
    public void Memcpy() => Buffer.MemoryCopy(_src, _dst, Total, Total);

    /// <summary><c>copy_to_iter</c> of 64 MiB into the destination iterator.</summary>
    [Benchmark]
    public ulong CopyToIter()
    {
        IovIter it = Make(false);
        return it.CopyToIter(_src, Total);
    }

    /// <summary><c>copy_from_iter</c> of 64 MiB out of the source iterator.</summary>
    [Benchmark]
    public ulong CopyFromIter()
    {
        IovIter it = Make(true);
        return it.CopyFromIter(_dst, Total);
    }

    /// <summary>Releases everything.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _mm.Dispose();
        if (!_run.IsNull) for (int i = 0; i < Total / PageGeometry.PageSize; i++) _mem.Put(_run.Nth(i));
        NativeMemory.AlignedFree(_src);
        NativeMemory.AlignedFree(_dst);
        _mem.Dispose();
    }
}
