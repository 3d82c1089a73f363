using Kiov.Iov;

namespace Kiov.Trace;

/// <summary>
/// A back end's buffer for the trace's <c>fill</c> and <c>hash</c>: the process's own memory that
/// the pattern is written from or the bytes are read into, one chunk at a time.
/// </summary>
internal interface ISelfCopyBuffer
{
    /// <summary>The most bytes one chunk moves.</summary>
    int ChunkSize { get; }

    /// <summary>Writes the fill pattern of <paramref name="seed"/> for bytes [offset, offset+n) of
    /// the fill into the buffer.</summary>
    void Generate(uint seed, ulong offset, int n);

    /// <summary>One <c>process_vm_{writev,readv}(self, [[buffer, n]], [[remote, n]])</c>: the bytes
    /// moved, or -errno.</summary>
    long Copy(ulong remote, int n, bool write);

    /// <summary>Folds the first <paramref name="n"/> bytes of the buffer into <paramref name="hash"/>.</summary>
    ulong Hash(ulong hash, int n);
}

/// <summary>
/// <c>fill</c> and <c>hash</c> (docs/trace-format.md): what one call <c>process_vm_{writev,readv}(self,
/// [[buf, len]], [[addr, len]], 0)</c> returns, done in chunks through a buffer. Why the loop gives
/// exactly that one call's result:
/// <list type="bullet">
/// <item>len 0: the local iovec imports to an empty iterator and the call returns 0 before it
/// looks at the remote iovec, whatever addr is.</item>
/// <item>len negative as an <c>ssize_t</c> (≥ 2^63): importing the local iovec fails with
/// EINVAL before anything is copied.</item>
/// <item>Otherwise the local iovec (one segment, so <c>import_ubuf</c>) is clamped to
/// MAX_RW_COUNT (0x7ffff000): no more than that is ever copied, and the remote side stops when
/// the local iterator is used up.</item>
/// <item>The remote range is pinned in order; the first page that cannot be pinned ends the
/// copy at that page boundary. The call returns the bytes copied if any, else the error
/// (EFAULT). Chunks cover the same remote bytes in the same order, so the first chunk that
/// comes back short (or with an error) ends the loop at the same byte, and the total is
/// returned if it is not zero, else that chunk's error.</item>
/// </list>
/// The pattern index of each chunk is its offset from the start of the whole fill.
/// </summary>
internal static class SelfCopy
{
    /// <summary>The trace's <c>fill</c> through <paramref name="buffer"/>.</summary>
    public static long Fill<TBuffer>(ref TBuffer buffer, ulong addr, ulong len, uint seed) where TBuffer : ISelfCopyBuffer
    {
        ulong unused = 0;
        return Run(ref buffer, addr, len, write: true, seed, ref unused);
    }

    /// <summary>The trace's <c>hash</c> through <paramref name="buffer"/>: the bytes read, with their FNV-1a 64.</summary>
    public static long Hash<TBuffer>(ref TBuffer buffer, ulong addr, ulong len, out ulong hash) where TBuffer : ISelfCopyBuffer
    {
        hash = Fnv1a64.Start;
        return Run(ref buffer, addr, len, write: false, 0, ref hash);
    }

    private static long Run<TBuffer>(ref TBuffer buffer, ulong addr, ulong len, bool write, uint seed, ref ulong hash)
        where TBuffer : ISelfCopyBuffer
    {
        if ((long)len < 0) return -Errno.EINVAL;
        ulong total = Math.Min(len, IovLimits.MaxRwCount);
        ulong done = 0;
        while (done < total)
        {
            int n = (int)Math.Min((ulong)buffer.ChunkSize, total - done);
            if (write) buffer.Generate(seed, done, n);
            long ret = buffer.Copy(unchecked(addr + done), n, write);
            if (ret < 0) return done > 0 ? (long)done : ret;
            if (!write) hash = buffer.Hash(hash, (int)ret);
            done += (ulong)ret;
            if (ret < n) break;
        }
        return (long)done;
    }
}
