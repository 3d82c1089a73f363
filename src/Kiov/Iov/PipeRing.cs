using Kiov.Memory;

namespace Kiov.Iov;

/// <summary>What a pipe buffer's bytes are, and so how it is released and whether it can grow
/// (<c>pipe_buf_operations</c>: the kernel tells them apart by the ops pointer).</summary>
public enum PipeBufferKind : byte
{
    /// <summary><c>default_pipe_buf_ops</c>/<c>anon_pipe_buf_ops</c>: a page the pipe allocated and owns;
    /// a writer may append to it.</summary>
    Anon,
    /// <summary><c>page_cache_pipe_buf_ops</c>: a page-cache page lent by reference (splice); never appended to.</summary>
    PageCache,
    /// <summary><c>user_page_pipe_buf_ops</c>: a user page referenced by vmsplice (FOLL_GET, not a pin).</summary>
    UserPage,
    /// <summary>The shared zero page, lent by splice for a hole in a file.</summary>
    ZeroPage,
}

/// <summary>One slot of a pipe's ring (<c>struct pipe_buffer</c>): <see cref="Len"/> bytes at
/// <see cref="Offset"/> in <see cref="Page"/>. The buffer owns one reference on the page.</summary>
/// <param name="Page">The page (<c>page</c>).</param>
/// <param name="Offset">Where the data starts in the page (<c>offset</c>).</param>
/// <param name="Len">The bytes of data (<c>len</c>).</param>
/// <param name="Kind">Its operations (<c>ops</c>).</param>
/// <param name="CanMerge"><c>PIPE_BUF_FLAG_CAN_MERGE</c>: pipe_write may append to it (anonymous
/// buffers written by pipe_write; cleared when splice moves a buffer to another pipe).</param>
public readonly record struct PipeBuffer(Page Page, uint Offset, uint Len, PipeBufferKind Kind, bool CanMerge = false);

/// <summary>
/// The part of a pipe (<c>struct pipe_inode_info</c>, 5.5+ head/tail ring) that an ITER_PIPE iterator
/// writes: free-running <see cref="Head"/> and <see cref="Tail"/> indices, a usable size, and slots.
/// Implemented by the Fs layer's pipe (fs/pipe.c); the iterator is its only writer while a splice
/// holds the pipe lock, so the interface has no locking of its own.
/// </summary>
/// <remarks>Buffers are named by free-running index (the ring masks them); slots in
/// [<see cref="Tail"/>, <see cref="Head"/>) are occupied. <see cref="Push"/> hands the ring one page
/// reference; <see cref="Truncate"/> releases the references of the buffers it drops
/// (<c>pipe_buf_release</c>).</remarks>
public interface IPipeRing
{
    /// <summary><c>pipe->head</c>: the index the next buffer goes to.</summary>
    uint Head { get; }

    /// <summary><c>pipe->tail</c>: the oldest occupied index.</summary>
    uint Tail { get; }

    /// <summary><c>pipe->max_usage</c>: the most buffers that may be occupied at once.</summary>
    uint MaxUsage { get; }

    /// <summary>The buffer at free-running index <paramref name="index"/> (<c>pipe->bufs[index &amp; mask]</c>).</summary>
    PipeBuffer this[uint index] { get; }

    /// <summary>Appends <paramref name="buffer"/> at <see cref="Head"/> and advances the head; the ring
    /// takes over one reference on its page. The caller has checked the ring is not full.</summary>
    void Push(in PipeBuffer buffer);

    /// <summary>Sets the length of the occupied buffer at <paramref name="index"/> (how push_pipe extends
    /// an anonymous buffer and pipe_truncate trims one).</summary>
    void SetLength(uint index, uint len);

    /// <summary><c>pipe_truncate</c>'s release loop: drops the buffers in [<paramref name="head"/>,
    /// <see cref="Head"/>), releasing their pages, and sets <see cref="Head"/> to <paramref name="head"/>.</summary>
    void Truncate(uint head);
}
