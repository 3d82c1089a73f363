using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Mm;

public sealed unsafe partial class AddressSpace
{
    /// <summary>
    /// <c>mmap(addr, len, prot, flags, file, offset)</c> (<c>ksys_mmap_pgoff</c> → <c>do_mmap</c> →
    /// <c>mmap_region</c>), checking in the kernel's order: an unaligned offset, a zero length, a
    /// length that overflows, too many areas, then the placement (MAP_FIXED: unaligned EINVAL,
    /// beyond TASK_SIZE ENOMEM, below mmap_min_addr EPERM; MAP_FIXED_NOREPLACE over a mapping
    /// EEXIST; otherwise a hint rounded down to its page), then a file offset past the largest file
    /// (<c>file_mmap_ok</c>: EOVERFLOW), then the mapping type. <paramref name="offset"/> is the
    /// register value, unsigned as x86-64's <c>sys_mmap</c> takes it. Returns the address or -errno.
    /// The caller resolves a file descriptor first (EBADF); <paramref name="file"/> is ignored with MAP_ANONYMOUS.
    /// </summary>
    public long Mmap(ulong addr, ulong len, int prot, int flags, IMappableFile? file = null, long offset = 0)
    {
        if ((offset & (PageSize - 1)) != 0) return -Errno.EINVAL;
        bool anonymous = (flags & MapFlags.Anonymous) != 0;
        if (anonymous) file = null;
        else if (file == null) return -Errno.EBADF;
        if (len == 0) return -Errno.EINVAL;
        if (!TryPageAlign(len, out ulong size) || size == 0) return -Errno.ENOMEM;
        // sys_mmap takes the offset unsigned, so the page offset is below 2^52 and the kernel's own
        // "pgoff + pages wraps" EOVERFLOW check cannot fire on 64-bit; file_mmap_ok's can (below).
        long pgoff = (long)((ulong)offset >> PageShift);
        long npages = (long)(size >> PageShift);
        bool isFixed = (flags & (MapFlags.Fixed | MapFlags.FixedNoReplace)) != 0;
        int type = flags & MapFlags.TypeMask;

        var gather = new MmuGather(Memory, Kernel.Gate);
        Vma vma;
        using (MmapLock.Write())
        {
            if (_vmas.Count > Layout.MaxMapCount) return -Errno.ENOMEM; // do_mmap's check is strict: one more may come
            if (isFixed)
            {
                if (size > Layout.TaskSize || addr > Layout.TaskSize - size) return -Errno.ENOMEM;
                if ((addr & (PageSize - 1)) != 0) return -Errno.EINVAL;
                if (addr < Layout.MmapMinAddr) return -Errno.EPERM;
                if ((flags & MapFlags.Fixed) == 0 && _vmas.FirstOverlapping(addr, addr + size) != null) return -Errno.EEXIST;
            }
            else
            {
                addr = GetUnmappedArea(addr, size);
                if (addr == 0) return -Errno.ENOMEM;
            }
            if (file != null && !FileMmapOk(file, pgoff, size)) return -Errno.EOVERFLOW;
            VmFlags vmFlags = ProtToVmFlags(prot) | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec;
            if ((flags & MapFlags.GrowsDown) != 0) vmFlags |= VmFlags.GrowsDown;
            if (file != null)
            {
                // do_mmap's checks of the file, in its order (file_mmap_ok came above).
                switch (type)
                {
                    case MapFlags.Shared:
                    case MapFlags.SharedValidate:
                        if ((prot & Prot.Write) != 0 && !file.OpenForWrite) return -Errno.EACCES;
                        vmFlags |= VmFlags.Shared | VmFlags.MayShare;
                        if (!file.OpenForWrite) vmFlags &= ~(VmFlags.MayWrite | VmFlags.Shared);
                        goto case MapFlags.Private;
                    case MapFlags.Private:
                        if (!file.OpenForRead) return -Errno.EACCES;
                        if (file.NoExec)
                        {
                            if ((vmFlags & VmFlags.Exec) != 0) return -Errno.EPERM;
                            vmFlags &= ~VmFlags.MayExec;
                        }
                        if (!file.HasMmap) return -Errno.ENODEV;
                        if ((vmFlags & VmFlags.GrowsDown) != 0) return -Errno.EINVAL;
                        break;
                    default:
                        return -Errno.EINVAL;
                }
            }
            else if (type == MapFlags.Shared) vmFlags |= VmFlags.Shared | VmFlags.MayShare;
            else if (type != MapFlags.Private) return -Errno.EINVAL;
            if (file != null) vmFlags |= file.MmapFlags;
            else if ((vmFlags & VmFlags.Shared) != 0)
            {
                file = new AnonSharedMemory(Memory, npages);
                pgoff = 0;
            }
            // MAP_FIXED replaces whatever was there (do_vmi_munmap inside mmap_region).
            RemoveRange(addr, addr + size, gather);
            vma = new Vma(addr, addr + size, vmFlags, file, pgoff);
            _vmas.Insert(vma);
            file?.OnMap(this, vma);
            vma = TryMerge(vma);
            if ((flags & MapFlags.Populate) != 0) Populate(addr, addr + size);
        }
        gather.Finish();
        return (long)addr;
    }

    // __mm_populate: faults every page of each accessible area in (a write fault for a private
    // writable one, as populate_vma_page_range asks FOLL_WRITE only there). Errors are ignored,
    // but the first one ends the work on that area, so a huge MAP_POPULATE stops when memory runs out.
    private void Populate(ulong start, ulong end)
    {
        for (ulong a = start; a < end;)
        {
            Vma? v = _vmas.FirstOverlapping(a, end);
            if (v == null) return;
            a = Math.Max(a, v.Start);
            ulong stop = Math.Min(v.End, end);
            bool write = (v.Flags & (VmFlags.Write | VmFlags.Shared)) == VmFlags.Write;
            if ((v.Flags & VmFlags.AccessMask) != 0)
                for (; a < stop; a += PageSize)
                    if (HandleMmFault(v, a, write) != 0) break;
            a = stop;
        }
    }

    // file_mmap_ok: the mapping [pgoff, pgoff + size) must lie within file_mmap_size_max.
    private static bool FileMmapOk(IMappableFile file, long pgoff, ulong size)
    {
        ulong max = file.MmapSizeMax;
        if (max != 0 && size > max) return false;
        max -= size;
        return (ulong)pgoff <= max >> PageShift;
    }

    /// <summary>The access flags that <paramref name="prot"/> asks for (<c>calc_vm_prot_bits</c>).</summary>
    public static VmFlags ProtToVmFlags(int prot) =>
        ((prot & Prot.Read) != 0 ? VmFlags.Read : 0) | ((prot & Prot.Write) != 0 ? VmFlags.Write : 0) |
        ((prot & Prot.Exec) != 0 ? VmFlags.Exec : 0);

    // round_hint_to_min + arch_get_unmapped_area_topdown: the hint, rounded down to its page (a
    // hint below mmap_min_addr is raised to it; one that rounds to 0 is none), if it is free; else
    // the highest gap below mmap_base. 0 = none. Write lock held.
    private ulong GetUnmappedArea(ulong hint, ulong size)
    {
        MmapLock.AssertWriteLocked();
        if (size > Layout.TaskSize - Layout.MmapMinAddr) return 0;
        hint &= PageMask;
        if (hint != 0)
        {
            if (hint < Layout.MmapMinAddr) hint = Layout.MmapMinAddr;
            if (hint <= Layout.TaskSize - size && _vmas.FirstOverlapping(hint, hint + size) == null) return hint;
        }
        ulong end = Layout.MmapBase;
        while (end >= size && end - size >= Layout.MmapMinAddr)
        {
            ulong start = end - size;
            Vma? v = _vmas.FirstOverlapping(start, end);
            if (v == null) return start;
            end = v.Start;
        }
        return 0;
    }

    /// <summary>
    /// <c>munmap(addr, len)</c>: EINVAL for an unaligned address, a zero length, or a range that
    /// overflows or passes TASK_SIZE; holes inside the range are fine. Page tables left empty are
    /// freed after lockless walkers have left.
    /// </summary>
    public int Munmap(ulong addr, ulong len)
    {
        if ((addr & (PageSize - 1)) != 0 || len == 0) return -Errno.EINVAL;
        if (!TryPageAlign(len, out ulong size) || size > Layout.TaskSize || addr > Layout.TaskSize - size) return -Errno.EINVAL;
        var gather = new MmuGather(Memory, Kernel.Gate);
        using (MmapLock.Write()) RemoveRange(addr, addr + size, gather);
        gather.Finish();
        return 0;
    }

    // do_vmi_munmap: split at both ends, remove the areas, zap, free empty tables. Write lock held.
    private void RemoveRange(ulong start, ulong end, MmuGather gather)
    {
        MmapLock.AssertWriteLocked();
        Vma? v = _vmas.FirstOverlapping(start, end);
        if (v == null) return;
        if (v.Start < start) { SplitAt(v, start); v = _vmas.Next(v); }
        while (v != null && v.Start < end)
        {
            if (v.End > end) SplitAt(v, end);
            Vma? next = _vmas.Next(v);
            ZapRange(v.Start, v.End, gather);
            _vmas.Remove(v);
            v.File?.OnUnmap(this, v);
            v = next;
        }
        PageTables.FreeEmptyTables(Memory, _pgd, start, end, gather);
    }

    // __split_vma: [Start, addr) stays in place, [addr, End) becomes a new area. Write lock held.
    private Vma SplitAt(Vma vma, ulong addr)
    {
        MmapLock.AssertWriteLocked();
        var tail = new Vma(addr, vma.End, vma.Flags, vma.File, vma.PageIndex(addr));
        vma.End = addr;
        _vmas.Insert(tail);
        vma.File?.OnMap(this, tail);
        return tail;
    }

    // vma_merge: joins vma with its neighbours when they are adjacent and alike. Returns the survivor.
    // Write lock held.
    private Vma TryMerge(Vma vma)
    {
        MmapLock.AssertWriteLocked();
        Vma? prev = _vmas.FindLastEndingAtOrBelow(vma.Start);
        if (prev != null && CanMerge(prev, vma))
        {
            _vmas.Remove(vma);
            prev.End = vma.End;
            vma.File?.OnUnmap(this, vma);
            vma = prev;
        }
        Vma? next = _vmas.Next(vma);
        if (next != null && CanMerge(vma, next))
        {
            _vmas.Remove(next);
            vma.End = next.End;
            next.File?.OnUnmap(this, next);
        }
        return vma;
    }

    // Merges every area touching [start, end) with its neighbours, after mprotect changed them.
    private void MergeRange(ulong start, ulong end)
    {
        Vma? v = _vmas.FindLastEndingAtOrBelow(start) ?? _vmas.FindFirstEndingAbove(start);
        while (v != null && v.Start <= end)
        {
            v = TryMerge(v);
            v = _vmas.Next(v);
        }
    }

    private static bool CanMerge(Vma a, Vma b) =>
        a.End == b.Start && a.Flags == b.Flags && ReferenceEquals(a.File, b.File) &&
        (a.File == null || a.PageIndex(a.End) == b.PgOff) && (a.Flags & (VmFlags.Io | VmFlags.PfnMap)) == 0;

    /// <summary>
    /// <c>mprotect(addr, len, prot)</c> (<c>do_mprotect_pkey</c>), checking in the kernel's order:
    /// EINVAL for both PROT_GROWSDOWN and PROT_GROWSUP, then for an unaligned address; 0 for a zero
    /// length; ENOMEM when the range overflows; EINVAL for unknown prot bits; ENOMEM when the range
    /// starts in a hole; EINVAL for PROT_GROWSUP (no area grows up on x86) or PROT_GROWSDOWN on an
    /// area that does not grow down. Areas before a later hole
    /// are changed and then ENOMEM is returned, as Linux does; EACCES when an area may not get the
    /// access (a shared mapping of a read-only file). Entries lose the write bit at once; they gain
    /// it on the next write fault.
    /// </summary>
    public int Mprotect(ulong addr, ulong len, int prot)
    {
        int grows = prot & (Prot.GrowsDown | Prot.GrowsUp);
        prot &= ~grows;
        if (grows == (Prot.GrowsDown | Prot.GrowsUp)) return -Errno.EINVAL;
        if ((addr & (PageSize - 1)) != 0) return -Errno.EINVAL;
        if (len == 0) return 0;
        if (!TryPageAlign(len, out ulong size)) return -Errno.ENOMEM;
        ulong end = addr + size;
        if (end <= addr) return -Errno.ENOMEM;
        if ((prot & ~(Prot.Read | Prot.Write | Prot.Exec | Prot.Sem)) != 0) return -Errno.EINVAL; // arch_validate_prot
        VmFlags want = ProtToVmFlags(prot);
        int result = 0;
        using (MmapLock.Write())
        {
            Vma? v = _vmas.FirstOverlapping(addr, end);
            if (v == null) return -Errno.ENOMEM;
            if (grows == Prot.GrowsDown)
            {
                if ((v.Flags & VmFlags.GrowsDown) == 0) return -Errno.EINVAL;
                addr = v.Start;
            }
            if (v.Start > addr) return -Errno.ENOMEM;
            if (grows == Prot.GrowsUp) return -Errno.EINVAL; // no VM_GROWSUP area on x86
            ulong cursor = addr;
            while (v != null && v.Start < end)
            {
                if (v.Start > cursor) { result = -Errno.ENOMEM; break; }
                VmFlags newFlags = (v.Flags & ~VmFlags.AccessMask) | want;
                var denied = (VmFlags)((ulong)newFlags & ~((ulong)newFlags >> 4)) & VmFlags.AccessMask;
                if (denied != 0) { result = -Errno.EACCES; break; }
                if (v.Start < cursor) { v = SplitAt(v, cursor); }
                if (v.End > end) SplitAt(v, end);
                if (newFlags != v.Flags)
                {
                    v.Flags = newFlags;
                    var change = new ProtectVisitor(Memory, v, Kernel.ZeroPage.Pfn);
                    PageTables.ForEachEntry(Memory, _pgd, v.Start, v.End, ref change);
                }
                cursor = v.End;
                if (cursor >= end) break;
                v = _vmas.Next(v);
            }
            if (result == 0 && cursor < end) result = -Errno.ENOMEM;
            MergeRange(addr, cursor);
        }
        // Like the TLB flush that ends change_protection: no access through the old rights after return.
        Kernel.Gate.Synchronize();
        return result;
    }

    // change_pte_range: PROT_NONE entries keep their page but stop being present; others get the
    // new write permission (only anonymous or shared pages may be writable at once).
    private readonly struct ProtectVisitor(PhysicalMemory memory, Vma vma, int zeroPfn) : PageTables.IEntryVisitor
    {
        public void Visit(ulong* pte, ulong addr)
        {
            while (true)
            {
                ulong old = Pte.Read(pte);
                bool zero = (old & Pte.Special) != 0 && Pte.Pfn(old) == zeroPfn;  // the zero page: protected, never writable
                if (!Pte.MapsPage(old) || ((old & Pte.Special) != 0 && !zero)) return;
                ulong fresh = old & ~(Pte.Present | Pte.ProtNone | Pte.Write);
                if ((vma.Flags & VmFlags.AccessMask) == 0) fresh |= Pte.ProtNone;
                else
                {
                    fresh |= Pte.Present;
                    // can_change_pte_writable: a private anonymous page only while exclusive (not shared by fork).
                    const PageFlags exclusive = PageFlags.Anon | PageFlags.AnonExclusive;
                    bool anon = (memory.Flags(new Page(Pte.Pfn(old))) & exclusive) == exclusive;
                    if ((vma.Flags & VmFlags.Write) != 0 && (vma.IsShared || anon) && (old & Pte.Dirty) != 0 && !zero) fresh |= Pte.Write;
                }
                if (Pte.CompareExchange(pte, fresh, old)) return;
            }
        }
    }

    /// <summary>
    /// <c>madvise(addr, len, advice)</c>: EINVAL for an unknown advice (checked first), an unaligned
    /// address, or a range that overflows; 0 for a zero length; the advice is applied to every mapped
    /// part and ENOMEM returned if the range had a hole. MADV_DONTNEED drops the pages (private
    /// anonymous memory then reads back as zeros; a file mapping reads the file again) and refuses
    /// VM_LOCKED or VM_PFNMAP areas with EINVAL.
    /// </summary>
    public int Madvise(ulong addr, ulong len, int advice)
    {
        if (advice is < Madv.Normal or > Madv.DontNeed) return -Errno.EINVAL;
        if ((addr & (PageSize - 1)) != 0) return -Errno.EINVAL;
        if (!TryPageAlign(len, out ulong size) || (len != 0 && size == 0)) return -Errno.EINVAL;
        ulong end = addr + size;
        if (end < addr) return -Errno.EINVAL;
        if (end == addr) return 0;
        int result = 0;
        var gather = new MmuGather(Memory, Kernel.Gate);
        using (MmapLock.Read())
        {
            ulong cursor = addr;
            for (Vma? v = _vmas.FirstOverlapping(addr, end); v != null && v.Start < end; v = _vmas.Next(v))
            {
                if (v.Start > cursor) result = -Errno.ENOMEM;
                if (advice == Madv.DontNeed)
                {
                    if ((v.Flags & (VmFlags.Locked | VmFlags.PfnMap)) != 0) { result = -Errno.EINVAL; break; }
                    ZapRange(Math.Max(v.Start, addr), Math.Min(v.End, end), gather);
                }
                cursor = v.End;
            }
            if (cursor < end && result == 0) result = -Errno.ENOMEM;
        }
        gather.Finish();
        return result;
    }
}
