using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

/// <summary>
/// One segment of a chained queue of folios (include/linux/folio_queue.h: <c>struct folio_queue</c>):
/// a fixed number of slots, each holding a folio (modelled as its first page and an order: the folio
/// spans 2^order physically consecutive frames) or nothing, and links to the next and previous
/// segments. ITER_FOLIOQ iterators walk it (<see cref="IovIter.FolioQueueOf"/>). The queue takes no
/// references: whoever fills it keeps the folios alive. Not thread-safe; the producer appends while
/// no iterator walks the slot being written (the kernel's lockless producer/consumer rule).
/// </summary>
public sealed class FolioQueue
{
    /// <summary><c>PAGEVEC_SIZE</c>: the slots of a segment in current kernels.</summary>
    public const int DefaultSlots = 31;

    private readonly Page[] _folios;
    private readonly byte[] _orders;

    /// <summary><c>folioq_init</c>: an empty segment of <paramref name="slots"/> slots (the kernel warns
    /// that segments need not all have the same capacity, so the model lets them differ).</summary>
    public FolioQueue(int slots = DefaultSlots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        _folios = new Page[slots];
        _orders = new byte[slots];
    }

    /// <summary><c>folioq->next</c>: the next segment, or null.</summary>
    public FolioQueue? Next { get; private set; }

    /// <summary><c>folioq->prev</c>: the previous segment, or null.</summary>
    public FolioQueue? Prev { get; private set; }

    /// <summary><c>folioq_nr_slots</c>: the capacity of this segment.</summary>
    public int NrSlots => _folios.Length;

    /// <summary><c>folioq_count</c>: slots filled so far (not decreased by <see cref="Clear"/>).</summary>
    public int Count { get; private set; }

    /// <summary><c>folioq_full</c>.</summary>
    public bool IsFull => Count >= NrSlots;

    /// <summary><c>folioq_append</c>: puts <paramref name="folio"/> (a run of 2^<paramref name="order"/>
    /// frames) in the next slot and returns the slot. The caller checks <see cref="IsFull"/> first.</summary>
    public int Append(Page folio, int order = 0)
    {
        if (IsFull) throw new InvalidOperationException("folio_queue segment is full");
        ArgumentOutOfRangeException.ThrowIfNegative(order);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(order, 20);
        int slot = Count++;
        _folios[slot] = folio;
        _orders[slot] = (byte)order;
        return slot;
    }

    /// <summary>Links a new empty segment after this one (what netfs does when the tail segment is full)
    /// and returns it.</summary>
    public FolioQueue Extend(int slots = DefaultSlots)
    {
        if (Next != null) throw new InvalidOperationException("folio_queue segment already has a successor");
        var next = new FolioQueue(slots) { Prev = this };
        Next = next;
        return next;
    }

    /// <summary><c>folioq_folio</c>: the folio's first page in <paramref name="slot"/>, or
    /// <see cref="Page.Null"/> for a slot that was cleared or never filled.</summary>
    public Page Folio(int slot) => _folios[slot];

    /// <summary><c>folioq_folio_order</c>.</summary>
    public int FolioOrder(int slot) => _orders[slot];

    /// <summary><c>folioq_folio_size</c>: PAGE_SIZE &lt;&lt; order (PAGE_SIZE for an unfilled slot, as in the kernel).</summary>
    public ulong FolioSize(int slot) => (ulong)PageSize << _orders[slot];

    /// <summary><c>folioq_clear</c>: empties a slot; the count is left alone.</summary>
    public void Clear(int slot) => _folios[slot] = Page.Null;

    /// <summary>Builds a chain holding <paramref name="pages"/> as order-0 folios, starting a new segment of
    /// <paramref name="slots"/> slots whenever one fills (the kunit suite's <c>iov_kunit_load_folioq</c>).
    /// Returns the head.</summary>
    public static FolioQueue FromPages(ReadOnlySpan<Page> pages, int slots = DefaultSlots)
    {
        var head = new FolioQueue(slots);
        FolioQueue tail = head;
        foreach (Page p in pages)
        {
            if (tail.IsFull) tail = tail.Extend(slots);
            tail.Append(p);
        }
        return head;
    }
}
