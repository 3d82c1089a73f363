using static Kiov.Memory.PageGeometry;

namespace Kiov.Mm;

public sealed unsafe partial class AddressSpace
{
    /// <summary>
    /// <c>mremap(addr, old_len, new_len, flags, new_addr)</c> (6.17+ <c>do_mremap</c>): both lengths are
    /// rounded up to pages, then <c>check_mremap_params</c> (EINVAL for unknown flags, an unaligned
    /// address, a zero or too long new length; with MREMAP_FIXED or MREMAP_DONTUNMAP: a new range past
    /// TASK_SIZE or unaligned, no MREMAP_MAYMOVE, DONTUNMAP with a change of size, ranges that overlap;
    /// ENOMEM near the map count limit). MREMAP_FIXED without a change of size moves every area of the
    /// old range (<see cref="RemapMove"/>); otherwise the area at <paramref name="addr"/> is checked
    /// (<see cref="RemapIsValid"/>, after a shrink) and moved to the new address, or resized in place. Returns the new
    /// address or -errno.
    /// </summary>
    public long Mremap(ulong addr, ulong oldLen, ulong newLen, int flags, ulong newAddr)
    {
        oldLen = unchecked((oldLen + PageSize - 1) & PageMask);
        newLen = unchecked((newLen + PageSize - 1) & PageMask);
        if ((flags & ~(Abi.Mremap.Fixed | Abi.Mremap.MayMove | Abi.Mremap.DontUnmap)) != 0) return -Errno.EINVAL;
        if ((addr & (PageSize - 1)) != 0) return -Errno.EINVAL;
        if (newLen == 0 || newLen > Layout.TaskSize) return -Errno.EINVAL;
        bool impliesNew = (flags & (Abi.Mremap.Fixed | Abi.Mremap.DontUnmap)) != 0;
        if (impliesNew)
        {
            if (newAddr > Layout.TaskSize - newLen) return -Errno.EINVAL;
            if ((newAddr & (PageSize - 1)) != 0) return -Errno.EINVAL;
            if ((flags & Abi.Mremap.MayMove) == 0) return -Errno.EINVAL;
            if ((flags & Abi.Mremap.DontUnmap) != 0 && oldLen != newLen) return -Errno.EINVAL;
            if (unchecked(addr + oldLen) > newAddr && newAddr + newLen > addr) return -Errno.EINVAL;
            if (_vmas.Count + 2 >= Layout.MaxMapCount - 3) return -Errno.ENOMEM;
        }
        var gather = new MmuGather(Memory, Kernel.Gate);
        long result;
        ulong populateFrom = 0, populateTo = 0;
        using (MmapLock.Write())
        {
            // vrm_move_only: a new address and no change of size moves every area of the range.
            if (impliesNew && oldLen == newLen) result = RemapMove(addr, oldLen, newAddr, flags, gather);
            else
            {
                // check_prep_vma: the area at addr, then (for a move or a growth) RemapIsValid, before anything changes.
                Vma? vma = _vmas.Find(addr);
                // populate_expand: the grown part of a locked area is faulted in after, moved or not.
                bool populateExpand = vma != null && newLen > oldLen && (vma.Flags & VmFlags.Locked) != 0;
                if (vma == null) result = -Errno.EFAULT;
                else if ((impliesNew || newLen > oldLen) && RemapIsValid(vma, addr, oldLen, newLen, flags) is var bad and not 0) result = bad;
                else if (impliesNew) result = MremapTo(addr, oldLen, newAddr, newLen, flags, gather);
                else result = MremapAt(vma, addr, oldLen, newLen, flags, gather);
                if (result >= 0 && populateExpand)
                {
                    populateFrom = (ulong)result + oldLen;
                    populateTo = (ulong)result + newLen;
                }
            }
            if (result >= 0 && populateTo > populateFrom) PopulateRange(populateFrom, populateTo, ignoreErrors: true);
        }
        gather.Finish();
        return result;
    }

    // The checks of check_prep_vma for a move or a growth: EINVAL duplicating a private area
    // (old_len 0), EINVAL for DONTUNMAP of VM_DONTEXPAND/VM_PFNMAP, EFAULT when the part of the old
    // range that stays (the whole of it, or new_len of it when a move shrinks it: the running
    // kernel lets a shrinking move start in an area the old range runs past) leaves the area; for
    // a growth also EINVAL when the file offset wraps, EFAULT for VM_DONTEXPAND/VM_PFNMAP, EAGAIN
    // past RLIMIT_MEMLOCK for a locked area.
    private int RemapIsValid(Vma vma, ulong addr, ulong oldLen, ulong newLen, int flags)
    {
        if (oldLen == 0 && (vma.Flags & (VmFlags.Shared | VmFlags.MayShare)) == 0) return -Errno.EINVAL;
        if ((flags & Abi.Mremap.DontUnmap) != 0 && (vma.Flags & (VmFlags.DontExpand | VmFlags.PfnMap)) != 0) return -Errno.EINVAL;
        if (Math.Min(oldLen, newLen) > vma.End - addr) return -Errno.EFAULT;
        if (newLen <= oldLen) return 0;
        ulong pgoff = (ulong)vma.PageIndex(addr);
        if (pgoff + (newLen >> PageShift) < pgoff) return -Errno.EINVAL;
        if ((vma.Flags & (VmFlags.DontExpand | VmFlags.PfnMap)) != 0) return -Errno.EFAULT;
        ulong delta = newLen > oldLen ? newLen - oldLen : oldLen - newLen;
        if (!MlockFutureOk(vma.Flags, delta)) return -Errno.EAGAIN;
        return 0;
    }

    // mremap_at: no move. The same size returns addr; a shrink unmaps the tail; a growth extends the
    // area in place when the old range ends where the area ends and the pages after are free, else
    // it moves (MREMAP_MAYMOVE) or fails with ENOMEM. A locked area's new pages are faulted in after.
    private long MremapAt(Vma vma, ulong addr, ulong oldLen, ulong newLen, int flags, MmuGather gather)
    {
        if (newLen == oldLen) return (long)addr;
        if (newLen < oldLen)
        {
            RemoveRange(addr + newLen, addr + oldLen, gather);
            return (long)addr;
        }
        ulong delta = newLen - oldLen;
        if (vma.End - addr == oldLen && Expandable(vma, delta))
        {
            vma.End += delta;
            if ((vma.Flags & VmFlags.Locked) != 0) _lockedVm += (long)(delta >> PageShift);
            TryMerge(vma);
            return (long)addr;
        }
        if ((flags & Abi.Mremap.MayMove) == 0) return -Errno.ENOMEM;
        ulong to = GetUnmappedArea(0, newLen);
        if (to == 0) return -Errno.ENOMEM;
        return MoveVma(addr, oldLen, to, newLen, dontUnmap: false, gather);
    }

    // vma_expandable: the pages after the area are free and the grown area stays below TASK_SIZE.
    private bool Expandable(Vma vma, ulong delta)
    {
        ulong end = vma.End + delta;
        if (end < vma.End) return false;
        if (_vmas.FirstOverlapping(vma.End, end) != null) return false;
        return end - vma.Start <= Layout.TaskSize && vma.Start <= Layout.TaskSize - (end - vma.Start);
    }

    // mremap_to, after the checks: with MREMAP_FIXED the new range is unmapped first (and the old
    // area looked up again: EFAULT if gone); a shrink unmaps the old tail; then the area moves to
    // the new address (MREMAP_DONTUNMAP without MREMAP_FIXED takes it as a hint).
    private long MremapTo(ulong addr, ulong oldLen, ulong newAddr, ulong newLen, int flags, MmuGather gather)
    {
        if ((flags & Abi.Mremap.Fixed) != 0)
        {
            RemoveRange(newAddr, newAddr + newLen, gather);
            if (_vmas.Find(addr) == null) return -Errno.EFAULT;
        }
        if (newLen < oldLen)
        {
            RemoveRange(addr + newLen, addr + oldLen, gather);
            if (_vmas.Find(addr) == null) return -Errno.EFAULT;
            oldLen = newLen;
        }
        if ((flags & Abi.Mremap.Fixed) == 0)
        {
            ulong to = GetUnmappedArea(newAddr, newLen);
            if (to == 0) return -Errno.ENOMEM;
            newAddr = to;
        }
        return MoveVma(addr, oldLen, newAddr, newLen, (flags & Abi.Mremap.DontUnmap) != 0, gather);
    }

    // remap_move: MREMAP_FIXED or MREMAP_DONTUNMAP of the same size moves every area of [addr, addr + len) (split at the
    // range's ends), keeping the gaps between them; a gap at the start is EFAULT, as is a range
    // with no area at all. The first area's new address is returned.
    private long RemapMove(ulong addr, ulong len, ulong newAddr, int flags, MmuGather gather)
    {
        ulong end = unchecked(addr + len);
        long res = -Errno.EFAULT;
        bool seen = false;
        ulong target = newAddr, lastEnd = 0, cursor = addr;
        for (Vma? v = _vmas.FindFirstEndingAbove(cursor); v != null && v.Start < end && end > addr; v = NextAreaFrom(cursor))
        {
            ulong a = Math.Max(v.Start, addr);
            ulong l = Math.Min(end, v.End) - a;
            if (!seen && addr < v.Start) return -Errno.EFAULT;
            ulong offset = seen ? v.Start - lastEnd : 0;
            lastEnd = v.End;
            if ((v.Flags & VmFlags.Io) != 0 && (seen || v.End < end)) return -Errno.EFAULT;
            int valid = RemapIsValid(v, a, l, l, flags);
            if (valid != 0) return valid;
            long moved = MremapTo(a, l, target + offset, l, flags, gather);
            if (moved < 0) return moved;
            if (!seen) res = moved;
            seen = true;
            target = (ulong)moved + l;
            cursor = lastEnd; // the walk goes on after where the area ended (MREMAP_DONTUNMAP keeps it)
        }
        return res;
    }

    // The VMA iterator paused after an area: the next area that starts at or after 'from' (the moved
    // range may have merged into an area that starts before it, which is not visited again).
    private Vma? NextAreaFrom(ulong from)
    {
        Vma? v = _vmas.FindFirstEndingAbove(from);
        return v != null && v.Start < from ? _vmas.Next(v) : v;
    }

    // move_vma: a new area at newAddr with the old one's flags, file and offset (an anonymous area
    // that never faulted takes its new address as its offset) and anon_vma; the page-table entries
    // move with their pages; then the old range is unmapped, or with MREMAP_DONTUNMAP kept, empty,
    // its whole area losing VM_LOCKED (dontunmap_complete; 6.18 keeps VM_ACCOUNT there).
    private long MoveVma(ulong addr, ulong oldLen, ulong newAddr, ulong newLen, bool dontUnmap, MmuGather gather)
    {
        if (_vmas.Count >= Layout.MaxMapCount - 3) return -Errno.ENOMEM;
        Vma vma = _vmas.Find(addr)!;
        long pgoff = vma.PageIndex(addr);
        if (vma.IsAnonymous && vma.AnonVma == null) pgoff = (long)(newAddr >> PageShift);
        var moved = new Vma(newAddr, newAddr + newLen, vma.Flags, vma.File, pgoff) { AnonVma = vma.AnonVma, ForkChild = vma.ForkChild };
        _vmas.Insert(moved);
        vma.File?.OnMap(this, moved);
        MovePageTables(addr, newAddr, oldLen);
        if ((moved.Flags & VmFlags.Locked) != 0) _lockedVm += (long)(newLen >> PageShift);
        TryMerge(moved);
        if (!dontUnmap)
        {
            RemoveRange(addr, addr + oldLen, gather);
            return (long)newAddr;
        }
        Vma? old = _vmas.Find(addr);
        if (old != null)
        {
            if (old.Start == addr && old.End == addr + oldLen && old.IsAnonymous) (old.AnonVma, old.ForkChild) = (null, false);
            old.Flags &= ~VmFlags.Locked;
        }
        return (long)newAddr;
    }

    // move_page_tables: each entry of [from, from + len) goes to the same offset from 'to'; the page
    // keeps its references and map count. Emptied tables are freed after lockless walkers leave.
    private void MovePageTables(ulong from, ulong to, ulong len)
    {
        for (ulong off = 0; off < len; off += PageSize)
        {
            ulong* src = PageTables.Lookup(Memory, _pgd, from + off, out _);
            if (src == null || Pte.Read(src) == 0) continue;
            ulong* dst = PageTables.LookupOrAlloc(Memory, _pgd, to + off);
            if (dst == null) continue;
            ulong entry = Pte.Clear(src);
            Pte.CompareExchange(dst, entry, 0);
        }
        Kernel.Gate.Synchronize();
        var gather = new MmuGather(Memory, Kernel.Gate);
        PageTables.FreeEmptyTables(Memory, _pgd, from, from + len, gather);
        gather.Finish();
    }
}
