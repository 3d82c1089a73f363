using System.Runtime.InteropServices;

namespace Kiov.Trace;

/// <summary>
/// One call for <see cref="ExecutorHostKernel.RunThreads"/>, laid out as the executor's request
/// header (8 words: the request, then its arguments): a system call, or the trace's
/// <c>fill</c> or <c>hash</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct ThreadedCall
{
    private readonly long request, w1, w2, w3, w4, w5, w6, w7;

    private ThreadedCall(long request, long w1, long w2 = 0, long w3 = 0, long w4 = 0, long w5 = 0, long w6 = 0, long w7 = 0)
    {
        this.request = request;
        this.w1 = w1; this.w2 = w2; this.w3 = w3; this.w4 = w4; this.w5 = w5; this.w6 = w6; this.w7 = w7;
    }

    /// <summary><c>syscall(nr, a0..a5)</c>.</summary>
    public static ThreadedCall Syscall(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0) =>
        new(1, nr, a0, a1, a2, a3, a4, a5);

    /// <summary>The trace's <c>fill</c>.</summary>
    public static ThreadedCall Fill(ulong addr, ulong len, uint seed) => new(4, (long)addr, (long)len, seed);

    /// <summary>The trace's <c>hash</c>; the hash comes back as the result's <see cref="ThreadedResult.Value"/>.</summary>
    public static ThreadedCall Hash(ulong addr, ulong len) => new(5, (long)addr, (long)len);
}

/// <summary>What one <see cref="ThreadedCall"/> returned: the result or -errno, and for a
/// <c>hash</c> the FNV-1a 64 of the bytes read.</summary>
/// <param name="Ret">The result, or -errno.</param>
/// <param name="Value">The hash, for a <c>hash</c>; else 0.</param>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct ThreadedResult(long Ret, ulong Value);
