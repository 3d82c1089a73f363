using System.Buffers;
using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

// Interop for .NET callers: iterators over managed memory, and page runs as spans.
//
// Decision: managed segments are a model-only kind, MANAGED, walked by the same skeleton as KVEC
// (IterateSegments with a third ISegments), so every copy, zero, advance, revert, truncate and
// save/restore works on them unchanged. Each step pins its segment only for the duration of the
// step with `fixed` on the segment's span: no GCHandle, no MemoryHandle, no allocation per call, and
// any Memory<byte> (array-, MemoryManager- or natively backed) works. A ReadOnlySequence<byte> becomes
// a source over its segments (the segment array is built once, when the iterator is). Page getting on
// managed memory gives -EFAULT: there is no struct page behind it, as for ITER_DISCARD.
public partial struct IovIter
{
    /// <summary>
    /// A KVEC-like iterator (<c>iov_iter_kvec</c>) over managed segments
    /// <paramref name="segments"/>[0 .. <paramref name="nrSegs"/>) with <paramref name="count"/> bytes.
    /// <paramref name="kernel"/> is needed only by the page-copy operations.
    /// </summary>
    public static IovIter Managed(bool source, Memory<byte>[] segments, int nrSegs, ulong count, KernelSpace? kernel = null) =>
        new() { _type = IterType.Managed, _dataSource = source, _managed = segments, _nrSegs = nrSegs, _count = count, _kernel = kernel };

    /// <summary>A KVEC-like iterator over all of <paramref name="segments"/>.</summary>
    public static IovIter Managed(bool source, params Memory<byte>[] segments)
    {
        ulong total = 0;
        foreach (var m in segments) total += (ulong)m.Length;
        return Managed(source, segments, segments.Length, total);
    }

    /// <summary>A source (<c>ITER_SOURCE</c>) over the segments of <paramref name="sequence"/>: the
    /// write side of a vectored call fed from System.IO.Pipelines. The iterator never writes to it.</summary>
    public static IovIter FromSequence(in ReadOnlySequence<byte> sequence)
    {
        int n = 0;
        foreach (var _ in sequence) n++;
        var segs = new Memory<byte>[n];
        n = 0;
        foreach (ReadOnlyMemory<byte> m in sequence) segs[n++] = System.Runtime.InteropServices.MemoryMarshal.AsMemory(m);
        return Managed(true, segs, segs.Length, (ulong)sequence.Length);
    }
}

/// <summary>Page runs (<c>bio_vec</c>s and frame ranges) as spans: the model's frames are carved from
/// one native block, so physically consecutive frames are consecutive bytes.</summary>
internal static class PageRuns
{
    /// <summary>The bytes of <paramref name="bv"/> (<c>bvec_virt</c> over the whole run) as a span.
    /// Every frame of the run must be allocated; the span is valid while the caller holds the pages.</summary>
    public static Span<byte> AsSpan(this BioVec bv, PhysicalMemory memory) => AsSpan(memory, bv.Page, (int)bv.Offset, (int)bv.Len);

    /// <summary><paramref name="length"/> bytes from <paramref name="offset"/> in the run of frames
    /// starting at <paramref name="first"/> (<c>page_address(first) + offset</c>), as a span.</summary>
    public static unsafe Span<byte> AsSpan(PhysicalMemory memory, Page first, int offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0) return [];
        int firstPage = offset >> PageShift, lastPage = (offset + length - 1) >> PageShift;
        for (int i = firstPage + 1; i <= lastPage; i++) memory.Pointer(first.Nth(i)); // each frame must be live
        return new Span<byte>(memory.Pointer(first.Nth(firstPage)) + OffsetInPage((ulong)offset), length);
    }
}
