using System.Runtime.InteropServices;

namespace Kiov.Uaccess;

/// <summary>
/// The copy every x86-64 kernel copy ends in on a CPU with FSRM (this machine's AMD EPYC):
/// <c>memcpy</c> (arch/x86/lib/memcpy_64.S, <c>rep movsb</c> patched in for X86_FEATURE_FSRM) and
/// <c>copy_user_generic</c> (<c>rep movsb</c>) both copy forward. Where the destination starts
/// inside the source, a forward copy reads again the bytes it has just written: a page-cache page
/// written from a pipe buffer that holds the same page (splice memfd → pipe → same memfd), a page
/// read into a later spot of itself. <c>Buffer.MemoryCopy</c> is memmove and would copy the
/// old bytes, which the host's hash shows is not what happens.
/// </summary>
internal static unsafe partial class ForwardCopy
{
    /// <summary>The distance below which an overlapping forward copy's result is the CPU's choice.</summary>
    public const ulong MicrocodeDecidedDistance = 64;

    /// <summary>
    /// <c>memcpy</c> / <c>rep movsb</c>: copies <paramref name="n"/> bytes from <paramref name="src"/>
    /// to <paramref name="dst"/> forward, so a destination overlapping the source's tail sees the
    /// bytes already copied, as a forward byte copy does.
    /// </summary>
    /// <remarks>
    /// THE MODEL DECIDES HERE, NOT LINUX: when the destination lies less than
    /// <see cref="MicrocodeDecidedDistance"/> bytes after the source, what <c>rep movsb</c> leaves is
    /// up to the CPU's string-copy microcode (it moves data in wide chunks, and neither a byte-forward
    /// copy nor memmove describes it on this EPYC; see the fuzz generator's 64-byte grain). The model
    /// then gives what a byte-by-byte forward copy gives. From 64 bytes apart on, every chunk the
    /// microcode moves is no wider than the distance, and the result is the byte-forward one, which
    /// this computes exactly. A destination before the source, or no overlap, is plain memmove,
    /// which gives the same bytes as any forward copy.
    /// </remarks>
    public static void Copy(byte* src, byte* dst, ulong n)
    {
        if (dst <= src || dst >= src + n)
        {
            Move(src, dst, n);
            return;
        }
        // dst = src + d with 0 < d < n: copy forward in pieces of d bytes. Piece i reads
        // [src + i·d, src + (i+1)·d), which piece i-1 has just written, and writes the next d bytes,
        // which it does not read: byte for byte what a forward copy gives, at memcpy speed.
        ulong d = (ulong)(dst - src);
        for (ulong done = 0; done < n; done += d)
        {
            ulong piece = Math.Min(d, n - done);
            Move(src + done, dst + done, piece);
        }
    }

    // Copies from a page up to a gate entry's run (16 pages) go straight to the C library's memmove,
    // without the runtime's transition out of managed code that Buffer.MemoryCopy makes for large
    // sizes (it cost about 6% at page-sized copies): a call of a few microseconds at most, so the
    // garbage collector never waits long for this thread. Smaller and larger copies stay managed.
    private const ulong NativeFrom = 1024, NativeUpTo = 64 << 10;

    private static void Move(byte* src, byte* dst, ulong n)
    {
        if (n >= NativeFrom && n <= NativeUpTo) Memmove(dst, src, (nuint)n);
        else Buffer.MemoryCopy(src, dst, n, n);
    }

    [LibraryImport("libc", EntryPoint = "memmove")]
    [SuppressGCTransition]
    private static partial void* Memmove(byte* dst, byte* src, nuint n);
}
