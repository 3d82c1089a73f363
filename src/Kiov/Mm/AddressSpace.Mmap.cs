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
        if ((flags & MapFlags.FixedNoReplace) != 0) flags |= MapFlags.Fixed;
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
            }
            else
            {
                addr = GetUnmappedArea(addr, size);
                if (addr == 0) return -Errno.ENOMEM;
            }
            if ((flags & MapFlags.FixedNoReplace) != 0 && _vmas.FirstOverlapping(addr, addr + size) != null) return -Errno.EEXIST;
            VmFlags vmFlags = ProtToVmFlags(prot) | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec;
            if ((flags & MapFlags.GrowsDown) != 0) vmFlags |= VmFlags.GrowsDown;
            if ((flags & MapFlags.Locked) != 0)
            {
                vmFlags |= VmFlags.Locked;
                if (!CanDoMlock) return -Errno.EPERM;
            }
            if (!MlockFutureOk(vmFlags, size)) return -Errno.EAGAIN;
            if (file != null && !FileMmapOk(file, pgoff, size)) return -Errno.EOVERFLOW;
            if (file != null)
            {
                // do_mmap's checks of the file, in its order (file_mmap_ok came above).
                switch (type)
                {
                    case MapFlags.Shared:
                        flags &= MapFlags.LegacyMask;
                        goto case MapFlags.SharedValidate;
                    case MapFlags.SharedValidate:
                        if ((flags & ~MapFlags.LegacyMask) != 0) return -Errno.EOPNOTSUPP;
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
                int sealed_ = file.CheckSealsMmap(ref vmFlags);
                if (sealed_ != 0) return sealed_;
            }
            else if (type == MapFlags.Shared)
            {
                if ((vmFlags & VmFlags.GrowsDown) != 0) return -Errno.EINVAL;
                vmFlags |= VmFlags.Shared | VmFlags.MayShare;
            }
            else if (type == MapFlags.Private) pgoff = (long)(addr >> PageShift);
            else return -Errno.EINVAL;
            if ((flags & MapFlags.NoReserve) != 0) vmFlags |= VmFlags.NoReserve;
            // accountable_mapping: private writable memory is charged (VM_ACCOUNT) unless MAP_NORESERVE.
            if ((vmFlags & (VmFlags.NoReserve | VmFlags.Shared | VmFlags.Write)) == VmFlags.Write) vmFlags |= VmFlags.Account;
            if (file != null) vmFlags |= file.MmapFlags;
            else if ((vmFlags & VmFlags.Shared) != 0)
            {
                file = new AnonSharedMemory(Memory, npages);
                pgoff = 0;
            }
            // MAP_FIXED replaces whatever was there (do_vmi_munmap inside mmap_region).
            RemoveRange(addr, addr + size, gather);
            if ((vmFlags & VmFlags.Locked) != 0 && (vmFlags & (VmFlags.Io | VmFlags.PfnMap)) != 0) vmFlags &= ~VmFlags.Locked;
            if ((vmFlags & VmFlags.Locked) != 0) _lockedVm += npages;
            vma = new Vma(addr, addr + size, vmFlags, file, pgoff);
            _vmas.Insert(vma);
            file?.OnMap(this, vma);
            vma = TryMerge(vma);
            if ((vmFlags & VmFlags.Locked) != 0 || (flags & (MapFlags.Populate | MapFlags.NonBlock)) == MapFlags.Populate)
                PopulateRange(addr, addr + size, ignoreErrors: true);
        }
        gather.Finish();
        return (long)addr;
    }

    /// <summary>
    /// <c>__mm_populate</c>: faults every page of each area in [start, end) in (a write fault for a
    /// private writable one, as populate_vma_page_range asks FOLL_WRITE only there; areas of VM_IO
    /// or VM_PFNMAP are skipped). An area without access (PROT_NONE) fails with -EFAULT, as GUP
    /// without FOLL_FORCE does; so does a fault past the end of a file. With
    /// <paramref name="ignoreErrors"/> (mmap) an error ends the work on that area only; without it
    /// (mlock) it is returned. The caller holds the mmap lock.
    /// </summary>
    private int PopulateRange(ulong start, ulong end, bool ignoreErrors)
    {
        for (ulong a = start; a < end;)
        {
            Vma? v = _vmas.FirstOverlapping(a, end);
            if (v == null) return 0;
            a = Math.Max(a, v.Start);
            ulong stop = Math.Min(v.End, end);
            if ((v.Flags & (VmFlags.Io | VmFlags.PfnMap)) == 0)
            {
                bool write = (v.Flags & (VmFlags.Write | VmFlags.Shared)) == VmFlags.Write;
                int r = (v.Flags & VmFlags.AccessMask) == 0 ? -Errno.EFAULT : 0;
                for (; r == 0 && a < stop; a += PageSize)
                    r = HandleMmFault(v, a, write);
                if (r != 0 && !ignoreErrors) return r;
            }
            a = stop;
        }
        return 0;
    }

    // can_do_mlock: a memlock limit above zero, or CAP_IPC_LOCK.
    private bool CanDoMlock => Kernel.Config.Limits.MemlockLimit != 0 || Kernel.Config.Limits.CapIpcLock;

    // mlock_future_ok: locked memory stays within RLIMIT_MEMLOCK unless CAP_IPC_LOCK.
    private bool MlockFutureOk(VmFlags flags, ulong bytes)
    {
        if ((flags & VmFlags.Locked) == 0 || Kernel.Config.Limits.CapIpcLock) return true;
        return (bytes >> PageShift) + (ulong)_lockedVm <= Kernel.Config.Limits.MemlockLimit >> PageShift;
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
            if ((v.Flags & VmFlags.Locked) != 0) _lockedVm -= (long)((v.End - v.Start) >> PageShift);
            v.File?.OnUnmap(this, v);
            v = next;
        }
        PageTables.FreeEmptyTables(Memory, _pgd, start, end, gather);
    }

    // __split_vma: [Start, addr) stays in place, [addr, End) becomes a new area. Write lock held.
    private Vma SplitAt(Vma vma, ulong addr)
    {
        MmapLock.AssertWriteLocked();
        var tail = new Vma(addr, vma.End, vma.Flags, vma.File, vma.PageIndex(addr)) { AnonVma = vma.AnonVma, ForkChild = vma.ForkChild };
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
            if (prev.AnonVma == null) (prev.AnonVma, prev.ForkChild) = (vma.AnonVma, vma.ForkChild);
            vma.File?.OnUnmap(this, vma);
            vma = prev;
        }
        Vma? next = _vmas.Next(vma);
        if (next != null && CanMerge(vma, next))
        {
            _vmas.Remove(next);
            vma.End = next.End;
            if (vma.AnonVma == null) (vma.AnonVma, vma.ForkChild) = (next.AnonVma, next.ForkChild);
            next.File?.OnUnmap(this, next);
        }
        return vma;
    }

    // is_mergeable_vma + is_mergeable_anon_vma + the page offsets lining up (anonymous areas too,
    // whose offset is the page number they were first mapped at: one moved by mremap keeps its own).
    private static bool CanMerge(Vma a, Vma b) =>
        a.End == b.Start && a.Flags == b.Flags && ReferenceEquals(a.File, b.File) &&
        a.PageIndex(a.End) == b.PgOff && (a.Flags & (VmFlags.Io | VmFlags.PfnMap)) == 0 &&
        AnonVmasMergeable(a, b);

    // is_mergeable_anon_vma: both without an anon_vma, or both with the same one; where only one has
    // one, that one must not be a fork child (its pages may be shared with another process).
    private static bool AnonVmasMergeable(Vma a, Vma b) => (a.AnonVma, b.AnonVma) switch
    {
        (null, null) => true,
        (null, _) => !b.ForkChild,
        (_, null) => !a.ForkChild,
        _ => ReferenceEquals(a.AnonVma, b.AnonVma),
    };

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
                // mprotect_fixup: a private mapping made writable is charged (VM_ACCOUNT); one made
                // read-only gives the charge back only while it holds no anonymous pages.
                if ((want & VmFlags.Write) != 0)
                {
                    if ((v.Flags & (VmFlags.Account | VmFlags.Write | VmFlags.Shared | VmFlags.NoReserve)) == 0) newFlags |= VmFlags.Account;
                }
                else if ((v.Flags & VmFlags.Account) != 0 && v.IsAnonymous && v.AnonVma == null) newFlags &= ~VmFlags.Account;
                var denied = (VmFlags)((ulong)newFlags & ~((ulong)newFlags >> 4)) & VmFlags.AccessMask;
                if (denied != 0) { result = -Errno.EACCES; break; }
                // mprotect_fixup: an area whose flags do not change is left whole, neither split nor merged.
                if (newFlags != v.Flags)
                {
                    if (v.Start < cursor) { v = SplitAt(v, cursor); }
                    if (v.End > end) SplitAt(v, end);
                    VmFlags oldFlags = v.Flags;
                    v.Flags = newFlags;
                    var change = new ProtectVisitor(Memory, v, Kernel.ZeroPage.Pfn);
                    PageTables.ForEachEntry(Memory, _pgd, v.Start, v.End, ref change);
                    // vma_modify_flags merges each piece as it goes, before anything faults in it.
                    ulong pieceStart = v.Start, pieceEnd = v.End;
                    v = TryMerge(v);
                    // A private VM_LOCKED area becoming writable breaks copy-on-write at once
                    // (populate_vma_page_range), so a locked area keeps no page to fault in later.
                    if ((oldFlags & (VmFlags.Write | VmFlags.Shared | VmFlags.Locked)) == VmFlags.Locked && (newFlags & VmFlags.Write) != 0)
                        for (ulong a = pieceStart; a < pieceEnd && HandleMmFault(v, a, write: true) == 0; a += PageSize) { }
                }
                cursor = v.End;
                if (cursor >= end) break;
                v = _vmas.Next(v);
            }
            if (result == 0 && cursor < end) result = -Errno.ENOMEM;
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
}
