using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

/// <summary>What the pages of a <see cref="PageBatch"/> carry on the consumer's behalf, and so how
/// the batch primitive releases the ones the consumer does not keep.</summary>
internal enum BatchHold : byte
{
    /// <summary>Nothing: the iterator's own pages (KVEC, BVEC, PIPE, XARRAY, FOLIOQ), alive for as long
    /// as the iterator's owner keeps them; a consumer that wants one longer takes its own reference.</summary>
    None,
    /// <summary>A FOLL_GET reference on each page (<c>get_user_pages_fast</c>, <c>iov_iter_get_pages2</c>),
    /// dropped with <c>put_page</c>.</summary>
    Ref,
    /// <summary>A FOLL_PIN pin on each page (<c>pin_user_pages_fast</c>), dropped with <c>unpin_user_page</c>.</summary>
    Pin,
}

/// <summary>Options of Al Viro's proposed primitive (<see cref="IovIter.ForEachPageBatch{TConsumer}"/>).</summary>
[Flags]
internal enum PageBatchFlags
{
    /// <summary>User pages are pinned (FOLL_PIN), as for direct I/O.</summary>
    None = 0,
    /// <summary>User pages get FOLL_GET references instead of pins: what vmsplice needs, since a pipe
    /// buffer holds a reference and may live indefinitely (Al's objection to pinning there).</summary>
    GetRefs = 1,
}

/// <summary>
/// One batch handed to a consumer by Al Viro's proposed primitive (the seed thread's
/// <c>iov_iter_for_each_page</c> with a medium-sized page buffer): <see cref="Bytes"/> bytes that start
/// <see cref="Offset"/> bytes into the first page and run through the following pages in order, every
/// page but the first starting at offset 0 and every page but the last ending at the page end.
/// </summary>
/// <remarks>
/// A ref struct passed as a scoped parameter, so a consumer can neither keep the span over the
/// primitive's stack buffer nor box the batch. The pages are either a list (user pages pinned into the buffer) or a run of physically
/// consecutive frames named by its first page (<see cref="IsRun"/>: the kernel kinds, which hand their
/// own pages without an intermediate array, as Al said ITER_BVEC and ITER_PIPE need none).
/// </remarks>
internal readonly ref struct PageBatch
{
    private readonly ReadOnlySpan<Page> _list;
    private readonly Page _first;
    private readonly int _count;
    private readonly ref int _kept; // the primitive's count of pages the consumer keeps

    internal PageBatch(ReadOnlySpan<Page> list, int offset, ulong bytes, BatchHold hold, ref int kept)
    {
        _kept = ref kept;
        _list = list;
        _count = list.Length;
        Offset = offset;
        Bytes = bytes;
        Hold = hold;
    }

    internal PageBatch(Page first, int count, int offset, ulong bytes, ref int kept)
    {
        _kept = ref kept;
        _first = first;
        _count = count;
        Offset = offset;
        Bytes = bytes;
        Hold = BatchHold.None;
    }

    /// <summary>The pages in the batch (<c>DIV_ROUND_UP(offset + bytes, PAGE_SIZE)</c>).</summary>
    public int Count => _count;

    /// <summary>Where the data starts in the first page (<c>*start</c> / <c>offset0</c>).</summary>
    public int Offset { get; }

    /// <summary>The bytes the batch covers.</summary>
    public ulong Bytes { get; }

    /// <summary>What each page carries for the consumer (<see cref="BatchHold"/>).</summary>
    public BatchHold Hold { get; }

    /// <summary>True when the pages are physically consecutive frames from the first (no list behind them).</summary>
    public bool IsRun => _list.IsEmpty;

    /// <summary>The pages whose references or pins the consumer keeps (see <see cref="KeepPages"/>).</summary>
    public int Kept => _kept;

    /// <summary>Page <paramref name="index"/> of the batch.</summary>
    public Page this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_count) throw new ArgumentOutOfRangeException(nameof(index));
            return _list.IsEmpty ? _first.Nth(index) : _list[index];
        }
    }

    /// <summary>The bytes of page <paramref name="index"/> that belong to the batch.</summary>
    public int LengthOf(int index)
    {
        ulong from = index == 0 ? (ulong)Offset : 0;
        ulong before = index == 0 ? 0 : (ulong)(PageSize - Offset) + (ulong)(index - 1) * PageSize;
        return (int)Math.Min(PageSize - from, Bytes - before);
    }

    /// <summary>The pages that the first <paramref name="bytes"/> bytes of the batch touch.</summary>
    public int PagesFor(ulong bytes) => (int)PagesSpanned((ulong)Offset, Math.Min(bytes, Bytes));

    /// <summary>Copies the batch's pages to <paramref name="destination"/>.</summary>
    public void CopyTo(Span<Page> destination)
    {
        if (!_list.IsEmpty) { _list.CopyTo(destination); return; }
        for (int i = 0; i < _count; i++) destination[i] = _first.Nth(i);
    }

    /// <summary>
    /// The consumer takes over the references or pins of the first <paramref name="pages"/> pages (it
    /// will <c>put_page</c> or <c>unpin_user_page</c> them itself); the primitive releases the others
    /// after the consumer returns. Only for a batch whose <see cref="Hold"/> is not
    /// <see cref="BatchHold.None"/>, and only pages under the bytes the consumer reports it took.
    /// </summary>
    public void KeepPages(int pages)
    {
        if (Hold == BatchHold.None) throw new InvalidOperationException("the iterator's own pages carry nothing to keep: take a reference instead");
        ArgumentOutOfRangeException.ThrowIfNegative(pages);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pages, _count);
        _kept = pages;
    }
}

/// <summary>
/// The consumer of Al Viro's proposed primitive: the seed thread's callback
/// <c>int (*f)(struct page *, size_t from, size_t size, void *data)</c>, taking a batch of pages at a
/// time instead of one. Implemented by a struct (or a ref struct) that holds its own state, so each
/// consumer gets its own specialised, inlinable walk, and nothing is allocated or boxed per call.
/// </summary>
internal interface IPageBatchConsumer
{
    /// <summary>
    /// Takes the bytes of <paramref name="batch"/>: returns how many it took from the start (0 to
    /// <see cref="PageBatch.Bytes"/>; fewer ends the walk, and the iterator is reverted by the rest, as
    /// vmsplice's <c>iter_to_pipe</c> does), or a negative errno, which ends the walk with nothing of this
    /// batch taken. Never called with an mmap lock held; may fault, mmap or munmap.
    /// </summary>
    long Consume(scoped PageBatch batch);
}
