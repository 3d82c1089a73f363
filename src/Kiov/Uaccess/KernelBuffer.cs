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
/// keeps them (and the array, fixed or on the stack) alive for the copy.
/// </summary>
internal readonly unsafe struct PageVector(PhysicalMemory memory, Page* pages, int pageCount) : IKernelBuffer
{
    /// <summary>The number of pages.</summary>
    public int Count => pageCount;

    /// <summary>The length in bytes.</summary>
    public ulong Length => (ulong)pageCount << PageShift;

    /// <inheritdoc/>
    public byte* At(ulong offset, ref ulong count)
    {
        ulong inPage = offset & (PageSize - 1);
        if (count > PageSize - inPage) count = PageSize - inPage;
        return memory.Pointer(pages[offset >> PageShift]) + inPage;
    }
}
