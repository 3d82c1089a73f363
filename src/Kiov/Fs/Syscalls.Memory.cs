using Kiov.Uaccess;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Fs;

// The memory-management system calls beside mmap, munmap, mprotect and madvise.
public static partial class Syscalls
{
    /// <summary><c>mremap(addr, old_len, new_len, flags, new_addr)</c>; see <see cref="Mm.AddressSpace.Mremap"/>.</summary>
    public static long Mremap(Process p, ulong addr, ulong oldLen, ulong newLen, int flags, ulong newAddr) =>
        p.Mm.Mremap(addr, oldLen, newLen, flags, newAddr);

    /// <summary><c>mlock(addr, len)</c>; see <see cref="Mm.AddressSpace.Mlock"/>.</summary>
    public static long Mlock(Process p, ulong addr, ulong len) => p.Mm.Mlock(addr, len);

    /// <summary><c>munlock(addr, len)</c>; see <see cref="Mm.AddressSpace.Munlock"/>.</summary>
    public static long Munlock(Process p, ulong addr, ulong len) => p.Mm.Munlock(addr, len);

    /// <summary><c>msync(addr, len, flags)</c>; see <see cref="Mm.AddressSpace.Msync"/>.</summary>
    public static long Msync(Process p, ulong addr, ulong len, int flags) => p.Mm.Msync(addr, len, flags);

    /// <summary><c>mincore(addr, len, vec)</c> with the vector in kernel memory the caller holds
    /// (one byte a page of the range).</summary>
    public static long Mincore(Process p, ulong addr, ulong len, Span<byte> vec) => p.Mm.Mincore(addr, len, vec);

    /// <summary>
    /// <c>mincore(addr, len, vec)</c> with the vector at user address <paramref name="vec"/>: EINVAL for an
    /// unaligned address, ENOMEM for a range that fails <c>access_ok</c>, EFAULT for a vector that does
    /// (checked before any area is looked at) or that cannot be written.
    /// </summary>
    public static long Mincore(Process p, ulong addr, ulong len, ulong vec)
    {
        if ((addr & (PageSize - 1)) != 0) return -Errno.EINVAL;
        if (!UserAccess.AccessOk(p.Kernel.Config, addr, len)) return -Errno.ENOMEM;
        ulong pages = (len >> PageShift) + ((len & (PageSize - 1)) != 0 ? 1UL : 0);
        if (!UserAccess.AccessOk(p.Kernel.Config, vec, pages)) return -Errno.EFAULT;
        // The kernel works through a page of vector at a time, copying each out before the next.
        Span<byte> chunk = stackalloc byte[PageSize];
        while (pages != 0)
        {
            int n = (int)Math.Min(pages, (ulong)PageSize);
            int r = p.Mm.Mincore(addr, (ulong)n << PageShift, chunk[..n]);
            if (r != 0) return r;
            if (UserAccess.CopyToUser(p.Mm, vec, chunk[..n]) != 0) return -Errno.EFAULT;
            pages -= (ulong)n;
            vec += (ulong)n;
            addr += (ulong)n << PageShift;
        }
        return 0;
    }
}
