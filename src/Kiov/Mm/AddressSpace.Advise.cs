using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Mm;

public sealed unsafe partial class AddressSpace
{
    /// <summary>
    /// <c>madvise(addr, len, advice)</c> (<c>do_madvise</c>): EINVAL for an advice this kernel does not
    /// know, an unaligned address, a length that rounds up to nothing or a range that wraps (in that
    /// order); 0 for a zero length. MADV_POPULATE_READ/WRITE fault the range in
    /// (<see cref="MadvisePopulate"/>); MADV_REMOVE punches holes (<see cref="MadviseRemove"/>); every
    /// other advice walks the areas of the range (<c>madvise_walk_vmas</c>): a hole is skipped and
    /// makes the result ENOMEM at the end, unless an area's advice fails first, which ends the walk
    /// with its error.
    /// </summary>
    public int Madvise(ulong addr, ulong len, int advice)
    {
        if (!MadviseBehaviorValid(advice)) return -Errno.EINVAL;
        if ((addr & (PageSize - 1)) != 0) return -Errno.EINVAL;
        if (!TryPageAlign(len, out ulong size) || (len != 0 && size == 0)) return -Errno.EINVAL;
        ulong end = addr + size;
        if (end < addr) return -Errno.EINVAL;
        if (end == addr) return 0;
        if (advice is Madv.PopulateRead or Madv.PopulateWrite) return MadvisePopulate(addr, end, advice == Madv.PopulateWrite);
        if (advice == Madv.Remove) return MadviseRemove(addr, end);
        bool changesAreas = advice is Madv.Normal or Madv.Random or Madv.Sequential or Madv.DontFork or Madv.DoFork
            or Madv.WipeOnFork or Madv.KeepOnFork or Madv.DontDump or Madv.DoDump;
        var gather = new MmuGather(Memory, Kernel.Gate);
        int result;
        if (changesAreas)
        {
            using (MmapLock.Write()) result = MadviseWalk(addr, end, advice, gather);
        }
        else
        {
            using (MmapLock.Read()) result = MadviseWalk(addr, end, advice, gather);
        }
        gather.Finish();
        return result;
    }

    // madvise_behavior_valid for this kernel's configuration (x86-64 with THP, KSM, swap).
    private static bool MadviseBehaviorValid(int advice) => advice is
        Madv.Normal or Madv.Random or Madv.Sequential or Madv.WillNeed or Madv.DontNeed or Madv.Free or
        Madv.Remove or Madv.DontFork or Madv.DoFork or Madv.Cold or Madv.PageOut or Madv.PopulateRead or
        Madv.PopulateWrite or Madv.DontNeedLocked or Madv.DontDump or Madv.DoDump or Madv.WipeOnFork or
        Madv.KeepOnFork;

    // madvise_walk_vmas under the lock the advice needs.
    private int MadviseWalk(ulong start, ulong end, int advice, MmuGather gather)
    {
        int unmapped = 0;
        ulong cursor = start;
        Vma? v = _vmas.FindFirstEndingAbove(cursor);
        while (true)
        {
            if (v == null) return -Errno.ENOMEM;
            if (cursor < v.Start)
            {
                unmapped = -Errno.ENOMEM;
                cursor = v.Start;
                if (cursor >= end) break;
            }
            ulong stop = Math.Min(v.End, end);
            int r = MadviseVma(ref v, cursor, stop, advice, gather);
            if (r != 0) return r;
            cursor = stop;
            if (cursor >= end) break;
            v = _vmas.FindFirstEndingAbove(cursor);
        }
        return unmapped;
    }

    // madvise_vma_behavior for one area and [start, end) inside it; 'v' becomes the area that now holds the range.
    private int MadviseVma(ref Vma v, ulong start, ulong end, int advice, MmuGather gather)
    {
        VmFlags flags = v.Flags;
        switch (advice)
        {
            case Madv.WillNeed:
                return 0; // swap-in of anonymous or shmem pages: nothing is swapped out here
            case Madv.Cold:
            case Madv.PageOut:
                // can_madv_lru_vma; then the pages are deactivated (cold: nothing a trace sees) or
                // reclaimed. Without swap an anonymous page or a dirty shmem page cannot leave memory;
                // a clean shmem or file page mapped here alone and held by nothing else is dropped.
                if ((flags & (VmFlags.Locked | VmFlags.PfnMap)) != 0) return -Errno.EINVAL;
                if (advice == Madv.PageOut && v.File != null) PageOutFilePages(v, start, end, gather);
                return 0;
            case Madv.DontNeed:
            case Madv.DontNeedLocked:
            case Madv.Free:
                VmFlags forbidden = VmFlags.PfnMap | (advice == Madv.DontNeedLocked ? 0 : VmFlags.Locked);
                if ((flags & forbidden) != 0) return -Errno.EINVAL;
                if (advice == Madv.Free)
                    // madvise_free_single_vma: anonymous memory only; its pages stay until reclaim
                    // takes them (no memory pressure here) or a write makes them dirty again.
                    return v.IsAnonymous ? 0 : -Errno.EINVAL;
                ZapRange(start, end, gather);
                return 0;
            case Madv.Normal: flags &= ~(VmFlags.RandRead | VmFlags.SeqRead); break;
            case Madv.Sequential: flags = (flags & ~VmFlags.RandRead) | VmFlags.SeqRead; break;
            case Madv.Random: flags = (flags & ~VmFlags.SeqRead) | VmFlags.RandRead; break;
            case Madv.DontFork: flags |= VmFlags.DontCopy; break;
            case Madv.DoFork:
                if ((flags & VmFlags.Io) != 0) return -Errno.EINVAL;
                flags &= ~VmFlags.DontCopy;
                break;
            case Madv.WipeOnFork:
                if (v.File != null || (flags & VmFlags.Shared) != 0) return -Errno.EINVAL;
                flags |= VmFlags.WipeOnFork;
                break;
            case Madv.KeepOnFork: flags &= ~VmFlags.WipeOnFork; break;
            case Madv.DontDump: break; // VM_DONTDUMP is not modelled: no core dumps here
            case Madv.DoDump: break;
            default: return -Errno.EINVAL;
        }
        v = ModifyFlags(v, start, end, flags);
        return 0;
    }

    // madvise_pageout_page_range → reclaim_pages for the file pages mapped in [start, end) of a file
    // area: a page mapped once, by a clean entry, neither dirty nor otherwise referenced, leaves the
    // mapping and the file's cache (shrink_folio_list's try_to_unmap and __remove_mapping).
    private void PageOutFilePages(Vma v, ulong start, ulong end, MmuGather gather)
    {
        for (ulong a = start; a < end; a += PageSize)
        {
            ulong pte = ReadPte(a);
            if (!Pte.MapsPage(pte) || (pte & (Pte.Special | Pte.Dirty)) != 0) continue;
            var page = new Page(Pte.Pfn(pte));
            if ((Memory.Flags(page) & PageFlags.Anon) != 0 || Memory.MapCount(page) != 1) continue;
            // The cache holds one reference, the mapping another: no third may exist.
            if (Memory.RefCount(page) != 2 || (Memory.Flags(page) & PageFlags.Dirty) != 0) continue;
            ZapRange(a, a + PageSize, gather);
            gather.Finish();
            if (!v.File!.Reclaim(v.PageIndex(a), page, 0))
                throw new KiovBugException($"page 0x{a:x} of {v} was unmapped for reclaim but stayed in its file");
        }
    }

    /// <summary>
    /// <c>vma_modify_flags</c>: gives [start, end) of <paramref name="v"/> the flags
    /// <paramref name="flags"/>, splitting the area at the range's ends and merging the result with
    /// its neighbours; nothing happens when the flags are already those. Returns the area that holds
    /// the range. The caller holds the mmap write lock.
    /// </summary>
    private Vma ModifyFlags(Vma v, ulong start, ulong end, VmFlags flags)
    {
        if (flags == v.Flags) return v;
        if (v.Start < start) v = SplitAt(v, start);
        if (v.End > end) SplitAt(v, end);
        v.Flags = flags;
        return TryMerge(v);
    }

    /// <summary>
    /// <c>madvise_populate</c> (MADV_POPULATE_READ/WRITE): faults every page of [start, end) in, as GUP
    /// with FOLL_MADV_POPULATE does: a page in no area ends it with ENOMEM, an area the access is not
    /// allowed on (PROT_NONE, a write to a read-only area, VM_IO/VM_PFNMAP) with EINVAL, a fault
    /// that fails (past the end of a file) with EFAULT; pages faulted before stay.
    /// </summary>
    private int MadvisePopulate(ulong start, ulong end, bool write)
    {
        using var _ = MmapLock.Read();
        for (ulong a = start; a < end;)
        {
            Vma? v = _vmas.Find(a);
            if (v == null) return -Errno.ENOMEM;
            VmFlags f = v.Flags;
            if ((f & (VmFlags.Io | VmFlags.PfnMap)) != 0) return -Errno.EINVAL;
            if (write ? (f & VmFlags.Write) == 0 : (f & VmFlags.Read) == 0) return -Errno.EINVAL;
            ulong stop = Math.Min(v.End, end);
            for (; a < stop; a += PageSize)
            {
                int r = HandleMmFault(v, a, write);
                if (r != 0) return r == -Errno.ENOMEM ? r : -Errno.EFAULT;
            }
        }
        return 0;
    }

    /// <summary>
    /// <c>madvise_remove</c> for each area of [start, end) in turn, the mmap lock dropped around each
    /// hole punch as the kernel drops it: EINVAL for a VM_LOCKED area or one without a file (private
    /// anonymous memory), EACCES unless the area is shared and may write; then the file punches the
    /// area's pages out (<c>vfs_fallocate</c>: EPERM when the memfd is sealed against writes). Holes
    /// in the range are skipped and make the result ENOMEM at the end.
    /// </summary>
    private int MadviseRemove(ulong start, ulong end)
    {
        int unmapped = 0;
        ulong cursor = start;
        while (cursor < end)
        {
            IMappableFile file;
            long first, stop;
            using (MmapLock.Read())
            {
                Vma? v = _vmas.FindFirstEndingAbove(cursor);
                if (v == null) return -Errno.ENOMEM;
                if (cursor < v.Start)
                {
                    unmapped = -Errno.ENOMEM;
                    cursor = v.Start;
                    if (cursor >= end) break;
                }
                if ((v.Flags & VmFlags.Locked) != 0) return -Errno.EINVAL;
                if (v.File == null) return -Errno.EINVAL;
                if ((v.Flags & (VmFlags.Shared | VmFlags.MayWrite)) != (VmFlags.Shared | VmFlags.MayWrite)) return -Errno.EACCES;
                ulong upTo = Math.Min(v.End, end);
                file = v.File;
                first = v.PageIndex(cursor);
                stop = v.PageIndex(upTo);
                cursor = upTo;
            }
            int r = file.PunchHole(first, stop);
            if (r != 0) return r;
        }
        return unmapped;
    }
}
