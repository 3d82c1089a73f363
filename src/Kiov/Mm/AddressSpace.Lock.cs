using static Kiov.Memory.PageGeometry;

namespace Kiov.Mm;

public sealed unsafe partial class AddressSpace
{
    /// <summary>
    /// <c>mlock(addr, len)</c> (<c>do_mlock</c>): EPERM without a memlock limit or CAP_IPC_LOCK; the range
    /// is widened to whole pages; ENOMEM past RLIMIT_MEMLOCK (pages already locked in the range not
    /// counted twice) unless CAP_IPC_LOCK; then <see cref="ApplyLock"/> and the pages are faulted in
    /// (<c>__mm_populate</c>), whose EFAULT (a PROT_NONE area, a page past the end of a file) becomes
    /// ENOMEM and ENOMEM becomes EAGAIN.
    /// </summary>
    public int Mlock(ulong addr, ulong len)
    {
        if (!CanDoMlock) return -Errno.EPERM;
        ulong start = addr & PageMask;
        len = unchecked((len + (addr - start) + PageSize - 1) & PageMask);
        HostLimits limits = Kernel.Config.Limits;
        using var _ = MmapLock.Write();
        ulong lockLimit = limits.MemlockLimit >> PageShift;
        ulong locked = (len >> PageShift) + (ulong)_lockedVm;
        if (locked > lockLimit && !limits.CapIpcLock) locked -= CountLockedPages(start, len);
        if (locked > lockLimit && !limits.CapIpcLock) return -Errno.ENOMEM;
        int r = ApplyLock(start, len, locked: true);
        if (r != 0) return r;
        r = PopulateRange(start, start + len, ignoreErrors: false);
        return r switch { -Errno.EFAULT => -Errno.ENOMEM, -Errno.ENOMEM => -Errno.EAGAIN, _ => r };
    }

    /// <summary><c>munlock(addr, len)</c>: the range widened to whole pages, then
    /// <see cref="ApplyLock"/> clearing VM_LOCKED.</summary>
    public int Munlock(ulong addr, ulong len)
    {
        ulong start = addr & PageMask;
        len = unchecked((len + (addr - start) + PageSize - 1) & PageMask);
        using var _ = MmapLock.Write();
        return ApplyLock(start, len, locked: false);
    }

    // count_mm_mlocked_page_nr: pages of VM_LOCKED areas inside [start, start + len).
    private ulong CountLockedPages(ulong start, ulong len)
    {
        ulong end = start + len < start ? ulong.MaxValue : start + len, count = 0;
        for (Vma? v = _vmas.FirstOverlapping(start, end); v != null && v.Start < end; v = _vmas.Next(v))
            if ((v.Flags & VmFlags.Locked) != 0)
                count += (Math.Min(v.End, end) - Math.Max(v.Start, start)) >> PageShift;
        return count;
    }

    /// <summary>
    /// <c>apply_vma_lock_flags</c>: EINVAL when the range wraps, 0 when it is empty, ENOMEM when its
    /// start is in no area; then every area of the range gets or loses VM_LOCKED (split at the ends,
    /// merged after; areas of VM_IO, VM_PFNMAP or VM_DONTEXPAND are left alone), stopping with ENOMEM
    /// at the first hole (the areas before it keep the change). The caller holds the write lock.
    /// </summary>
    private int ApplyLock(ulong start, ulong len, bool locked)
    {
        ulong end = start + len;
        if (end < start) return -Errno.EINVAL;
        if (end == start) return 0;
        Vma? v = _vmas.Find(start);
        if (v == null) return -Errno.ENOMEM;
        ulong cursor = start, expect = v.Start;
        while (v != null && cursor < end)
        {
            if (v.Start > expect) return -Errno.ENOMEM; // a hole (a merge may hand back an area that starts earlier)
            ulong stop = Math.Min(v.End, end);
            VmFlags flags = locked ? v.Flags | VmFlags.Locked : v.Flags & ~VmFlags.Locked;
            if (flags != v.Flags && (v.Flags & (VmFlags.Io | VmFlags.PfnMap | VmFlags.DontExpand)) == 0)
            {
                long pages = (long)((stop - cursor) >> PageShift);
                _lockedVm += locked ? pages : -pages;
                v = ModifyFlags(v, cursor, stop, flags);
            }
            cursor = expect = stop;
            v = _vmas.FindFirstEndingAbove(cursor);
        }
        return cursor < end ? -Errno.ENOMEM : 0;
    }

    /// <summary>
    /// <c>msync(addr, len, flags)</c>: EINVAL for unknown flags, an unaligned address, or MS_ASYNC with
    /// MS_SYNC; ENOMEM when the range wraps; 0 when empty. Then each area in turn: a hole before it
    /// ends the call with ENOMEM at once when the flags are exactly MS_ASYNC, else is remembered
    /// (ENOMEM at the end); EBUSY for MS_INVALIDATE on a VM_LOCKED area; MS_SYNC on a shared file
    /// mapping writes it back (shmem has nothing to write). Past the last area: ENOMEM.
    /// </summary>
    public int Msync(ulong addr, ulong len, int flags)
    {
        if ((flags & ~(Ms.Async | Ms.Invalidate | Ms.Sync)) != 0) return -Errno.EINVAL;
        if ((addr & (PageSize - 1)) != 0) return -Errno.EINVAL;
        if ((flags & Ms.Async) != 0 && (flags & Ms.Sync) != 0) return -Errno.EINVAL;
        len = unchecked((len + PageSize - 1) & PageMask);
        ulong end = addr + len;
        if (end < addr) return -Errno.ENOMEM;
        if (end == addr) return 0;
        int unmapped = 0;
        ulong start = addr;
        using var _ = MmapLock.Read();
        Vma? v = _vmas.FindFirstEndingAbove(start);
        while (true)
        {
            if (v == null) return -Errno.ENOMEM;
            if (start < v.Start)
            {
                if (flags == Ms.Async) return -Errno.ENOMEM;
                start = v.Start;
                if (start >= end) return -Errno.ENOMEM;
                unmapped = -Errno.ENOMEM;
            }
            if ((flags & Ms.Invalidate) != 0 && (v.Flags & VmFlags.Locked) != 0) return -Errno.EBUSY;
            start = v.End;
            if (start >= end) return unmapped;
            v = _vmas.FindFirstEndingAbove(start);
        }
    }

    /// <summary>
    /// <c>mincore(addr, len, vec)</c> into <paramref name="vec"/> (one byte a page, which the caller
    /// sized to the range): EINVAL for an unaligned address, ENOMEM for a range that fails
    /// <c>access_ok</c>; then area by area from the start (<c>do_mincore</c>): ENOMEM as soon as a page
    /// lies in no area; a page is resident (1) when its entry maps one (PROT_NONE included), or for a
    /// file or shmem mapping when the file's page cache holds it; else 0. Returns 0 or -errno.
    /// </summary>
    public int Mincore(ulong addr, ulong len, Span<byte> vec)
    {
        if ((addr & (PageSize - 1)) != 0) return -Errno.EINVAL;
        if (!Uaccess.UserAccess.AccessOk(Kernel.Config, addr, len)) return -Errno.ENOMEM;
        ulong pages = (len >> PageShift) + ((len & (PageSize - 1)) != 0 ? 1UL : 0);
        if (pages > (ulong)vec.Length) throw new ArgumentException("the vector is smaller than the range", nameof(vec));
        using var _ = MmapLock.Read();
        ulong end = addr + (pages << PageShift);
        int i = 0;
        for (ulong a = addr; a < end;)
        {
            Vma? v = _vmas.Find(a);
            if (v == null) return -Errno.ENOMEM;
            ulong stop = Math.Min(v.End, end);
            for (; a < stop; a += PageSize, i++)
            {
                ulong pte = ReadPte(a);
                bool resident = Pte.MapsPage(pte) || (v.File != null && v.File.IsCached(v.PageIndex(a)));
                vec[i] = resident ? (byte)1 : (byte)0;
            }
        }
        return 0;
    }
}
