using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Uaccess;

/// <summary>The kernel side of a user copy: where its byte at an offset is, and how many bytes from
/// there on are contiguous. A struct, so each user copy is specialised and allocates nothing.</summary>
internal unsafe interface IKernelBuffer
{
    /// <summary>The address of byte <paramref name="offset"/>; <paramref name="count"/> (at most the
    /// bytes wanted) is cut to the bytes contiguous from there.</summary>
    byte* At(ulong offset, ref ulong count);
}

/// <summary>One contiguous kernel buffer (what <c>copy_to_user</c> and <c>copy_from_user</c> take).</summary>
internal readonly unsafe struct FlatBuffer(byte* start) : IKernelBuffer
{
    /// <inheritdoc/>
    public byte* At(ulong offset, ref ulong count) => start + offset;
}

/// <summary>
/// Whole pages taken one after another as one kernel buffer, byte <c>i</c> in page <c>i / 4096</c>:
/// the pipe's buffers or page-cache pages that <c>copy_page_to_iter</c>/<c>copy_page_from_iter</c>
/// would copy one call per page. The pages need not be consecutive in physical memory; the caller
/// keeps them (and the array, fixed or on the stack) alive for the copy, holding a reference to each.
/// Each page is checked (a free frame throws, as <see cref="PhysicalMemory.Pointer"/> does) when the
/// vector is made, not again at every piece of the copy.
/// </summary>
internal readonly unsafe struct PageVector : IKernelBuffer
{
    private readonly PhysicalMemory _memory;
    private readonly Page* _pages;
    private readonly int _count;

    /// <summary>The <paramref name="pageCount"/> pages at <paramref name="pages"/> of <paramref name="memory"/>.</summary>
    public PageVector(PhysicalMemory memory, Page* pages, int pageCount)
    {
        for (int i = 0; i < pageCount; i++) memory.Pointer(pages[i]);
        _memory = memory;
        _pages = pages;
        _count = pageCount;
    }

    /// <summary>The number of pages.</summary>
    public int Count => _count;

    /// <summary>The length in bytes.</summary>
    public ulong Length => (ulong)_count << PageShift;

    /// <inheritdoc/>
    /// <remarks>Pages that follow each other in physical memory too are one contiguous piece (as a
    /// large folio would be), so the copy runs over them at once.</remarks>
    public byte* At(ulong offset, ref ulong count)
    {
        int i = (int)(offset >> PageShift);
        ulong inPage = offset & (PageSize - 1), room = PageSize - inPage;
        Page first = _pages[i];
        while (room < count && i + 1 < _count && _pages[i + 1].Pfn == _pages[i].Pfn + 1)
        {
            i++;
            room += PageSize;
        }
        if (count > room) count = room;
        return _memory.CheckedBefore(first) + inPage;
    }
}
