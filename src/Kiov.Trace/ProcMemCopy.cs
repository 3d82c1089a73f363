using Kiov.Mm;

namespace Kiov.Trace;

/// <summary>
/// The trace's <c>mem_read</c> and <c>mem_write</c> (docs/trace-format.md): what one <c>pread()</c> or
/// <c>pwrite()</c> on <c>/proc/&lt;pid&gt;/mem</c> returns, done in chunks through a back end's buffer.
/// <c>ksys_pread64</c> refuses a negative offset (an address of 2^63 or more: EINVAL)
/// before <c>vfs_read</c>'s <c>access_ok</c> of the caller's buffer refuses a length that reaches past
/// the user half (EFAULT: any length from <c>0x7ffffffff000</c> on, whatever the buffer's address).
/// Then, as <see cref="SelfCopy"/> argues for process_vm_*, chunks give the one call's result:
/// <c>mem_rw</c> itself works a page at a time and stops at the first page it cannot reach, giving
/// the bytes copied, or EIO when there were none.
/// </summary>
internal static class ProcMemCopy
{
    /// <summary>The smallest length no caller's buffer can hold below TASK_SIZE_MAX.</summary>
    public const ulong AbsurdLen = Layout.TaskSizeMax;

    /// <summary><c>mem_read</c> through <paramref name="buffer"/>, whose Copy is one pread.</summary>
    public static long Read<TBuffer>(ref TBuffer buffer, ulong addr, ulong len, out ulong hash) where TBuffer : ISelfCopyBuffer
    {
        hash = Fnv1a64.Start;
        long bad = Check(addr, len);
        return bad != 0 ? bad : SelfCopy.Hash(ref buffer, addr, len, out hash);
    }

    /// <summary><c>mem_write</c> through <paramref name="buffer"/>, whose Copy is one pwrite.</summary>
    public static long Write<TBuffer>(ref TBuffer buffer, ulong addr, ulong len, uint seed) where TBuffer : ISelfCopyBuffer
    {
        long bad = Check(addr, len);
        return bad != 0 ? bad : SelfCopy.Fill(ref buffer, addr, len, seed);
    }

    private static long Check(ulong addr, ulong len)
    {
        if ((long)addr < 0) return -Errno.EINVAL;
        if (len >= AbsurdLen) return -Errno.EFAULT;
        return 0;
    }
}
