using Kiov.Memory;
using Kiov.Mm;

namespace Kiov.Iov;

/// <summary>
/// An iterator over I/O vectors (<c>struct iov_iter</c>): one cursor type for every kind, moved by
/// one iteration skeleton (<see cref="IterateAndAdvance{TStep}"/>). A mutable struct: pass it by
/// <c>ref</c>. It holds references to the arrays it walks, never copies them.
/// </summary>
/// <remarks>The direction is part of the iterator: a source (<c>ITER_SOURCE</c>, the write(2) side)
/// is read with <see cref="CopyFromIter(Span{byte})"/>, a destination (<c>ITER_DEST</c>) is filled with
/// <see cref="CopyToIter(ReadOnlySpan{byte})"/>; the wrong one returns 0, as the kernel's WARN path does.</remarks>
public partial struct IovIter
{
    internal IterType _type;
    internal bool _dataSource;
    internal bool _nofault;
    internal ulong _iovOffset;
    internal ulong _count;
    internal int _nrSegs;
    internal int _seg;             // index of the current segment in the backing array
    internal ulong _ubuf;          // UBUF: the buffer's address
    internal IoVec[]? _iov;        // IOVEC and KVEC segments
    internal BioVec[]? _bvec;      // BVEC segments
    internal AddressSpace? _mm;    // user kinds: the address space the addresses belong to
    internal KernelSpace? _kernel; // kernel kinds: kernel memory
    internal PageCache? _xarray;   // XARRAY: the pages by index
    internal long _xarrayStart;    // XARRAY: the byte position of the start
    internal object? _backing;     // FOLIOQ and PIPE: their own structures

    /// <summary>The kind (<c>iov_iter_type</c>).</summary>
    public readonly IterType Type => _type;
    /// <summary>True for a source (<c>iov_iter_rw() == WRITE</c>, <c>data_source</c>).</summary>
    public readonly bool IsSource => _dataSource;
    /// <summary><c>user_backed_iter</c>: UBUF or IOVEC.</summary>
    public readonly bool IsUserBacked => _type is IterType.Ubuf or IterType.Iovec;
    /// <summary><c>iov_iter_count</c>: bytes left.</summary>
    public readonly ulong Count => _count;
    /// <summary><c>iov_offset</c>: the offset into the current segment.</summary>
    public readonly ulong IovOffset => _iovOffset;
    /// <summary><c>nr_segs</c>: segments left, the current one included.</summary>
    public readonly int NrSegs => _nrSegs;
    /// <summary>The index of the current segment in the backing array (the kernel moves a pointer).</summary>
    public readonly int SegmentIndex => _seg;
    /// <summary><c>nofault</c>: page getting must not fault (FOLL_NOFAULT).</summary>
    public bool NoFault { readonly get => _nofault; set => _nofault = value; }
    /// <summary>The address space of a user-backed iterator, else null.</summary>
    public readonly AddressSpace? Mm => _mm;
    /// <summary>The kernel space a kernel-backed iterator reads or writes, else null.</summary>
    public readonly KernelSpace? Kernel => _kernel;
    /// <summary>The segments of an IOVEC or KVEC iterator.</summary>
    public readonly IoVec[]? Iovecs => _iov;
    /// <summary>The segments of a BVEC iterator.</summary>
    public readonly BioVec[]? Bvecs => _bvec;
    /// <summary>The UBUF buffer's start address.</summary>
    public readonly ulong UbufBase => _ubuf;
    /// <summary>The page cache of an XARRAY iterator.</summary>
    public readonly PageCache? Xarray => _xarray;
    /// <summary>The byte position of an XARRAY iterator's start (<c>xarray_start</c>).</summary>
    public readonly long XarrayStart => _xarrayStart;

    /// <summary><c>iov_iter_ubuf</c>: one user buffer.</summary>
    public static IovIter Ubuf(bool source, AddressSpace mm, ulong buf, ulong count) =>
        new() { _type = IterType.Ubuf, _dataSource = source, _mm = mm, _ubuf = buf, _count = count, _nrSegs = 1 };

    /// <summary><c>iov_iter_init</c>: user segments <paramref name="iov"/>[first .. first+nrSegs).</summary>
    public static IovIter Init(bool source, AddressSpace mm, IoVec[] iov, int nrSegs, ulong count, int first = 0) =>
        new() { _type = IterType.Iovec, _dataSource = source, _mm = mm, _iov = iov, _seg = first, _nrSegs = nrSegs, _count = count };

    /// <summary><c>iov_iter_kvec</c>: kernel segments (direct-map or vmalloc addresses).</summary>
    public static IovIter Kvec(bool source, KernelSpace kernel, IoVec[] kvec, int nrSegs, ulong count) =>
        new() { _type = IterType.Kvec, _dataSource = source, _kernel = kernel, _iov = kvec, _nrSegs = nrSegs, _count = count };

    /// <summary><c>iov_iter_bvec</c>: page pieces.</summary>
    public static IovIter Bvec(bool source, KernelSpace kernel, BioVec[] bvec, int nrSegs, ulong count) =>
        new() { _type = IterType.Bvec, _dataSource = source, _kernel = kernel, _bvec = bvec, _nrSegs = nrSegs, _count = count };

    /// <summary><c>iov_iter_xarray</c>: <paramref name="count"/> bytes of a page cache from byte <paramref name="start"/>.</summary>
    public static IovIter XarrayOf(bool source, KernelSpace kernel, PageCache cache, long start, ulong count) =>
        new() { _type = IterType.Xarray, _dataSource = source, _kernel = kernel, _xarray = cache, _xarrayStart = start, _count = count };

    /// <summary><c>iov_iter_discard</c>: a destination that drops <paramref name="count"/> bytes.</summary>
    public static IovIter Discard(ulong count) =>
        new() { _type = IterType.Discard, _dataSource = false, _count = count };

    /// <summary><c>iov_iter_truncate</c>: limits the count to <paramref name="count"/> (an upper bound that may exceed it).</summary>
    public void Truncate(ulong count) { if (_count > count) _count = count; }

    /// <summary><c>iov_iter_reexpand</c>: sets the count back (the caller must not exceed the original).</summary>
    public void Reexpand(ulong count) => _count = count;

    /// <summary><c>iov_iter_save_state</c>.</summary>
    public readonly IovIterState SaveState() => new(_iovOffset, _count, _nrSegs);

    /// <summary><c>iov_iter_restore</c>: rewinds to a saved state (UBUF, IOVEC, KVEC and BVEC only).</summary>
    public void Restore(IovIterState state)
    {
        if (_type is not (IterType.Ubuf or IterType.Iovec or IterType.Kvec or IterType.Bvec))
            throw new KiovBugException($"iov_iter_restore on {_type}");
        _iovOffset = state.IovOffset;
        _count = state.Count;
        if (_type != IterType.Ubuf) _seg -= state.NrSegs - _nrSegs;
        _nrSegs = state.NrSegs;
    }
}

/// <summary><c>struct iov_iter_state</c>: what <see cref="IovIter.SaveState"/> keeps.</summary>
/// <param name="IovOffset">The offset into the current segment.</param>
/// <param name="Count">Bytes left.</param>
/// <param name="NrSegs">Segments left.</param>
public readonly record struct IovIterState(ulong IovOffset, ulong Count, int NrSegs);
