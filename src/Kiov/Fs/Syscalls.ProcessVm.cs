using System.Buffers;
using Kiov.Concurrency;
using Kiov.Gup;
using Kiov.Iov;
using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Fs;

public static partial class Syscalls
{
    /// <summary><c>PVM_MAX_PP_ARRAY_COUNT</c>: pages pinned per pass through an on-stack array.</summary>
    private const int PvmStackPages = 16;
    /// <summary><c>PVM_MAX_USER_PAGES</c>: the most pages one pass pins (two pages of pointers).</summary>
    private const int PvmMaxPages = 2 * PageSize / 8;

    /// <summary><c>process_vm_readv(pid, local, remote, flags)</c> on <paramref name="target"/>: reads the
    /// target's memory into the caller's.</summary>
    public static long ProcessVmReadv(Process p, Process target, ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote, ulong flags) =>
        ProcessVmRw(p, target, local, remote, flags, write: false);

    /// <summary><c>process_vm_writev(pid, local, remote, flags)</c>: writes the caller's memory into the target's.</summary>
    public static long ProcessVmWritev(Process p, Process target, ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote, ulong flags) =>
        ProcessVmRw(p, target, local, remote, flags, write: true);

    // process_vm_rw: flags, then the local list through import_iovec, then the remote list through
    // iovec_from_user (count and negative lengths only: remote addresses meet GUP later).
    private static long ProcessVmRw(Process p, Process target, ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote, ulong flags, bool write)
    {
        if (flags != 0) return -Errno.EINVAL;
        // One local segment becomes a UBUF iterator and needs no kernel copy of the array.
        IoVec[] iov = local.Length > 1 ? ArrayPool<IoVec>.Shared.Rent(Math.Max(local.Length, IovLimits.FastIov)) : [];
        try
        {
            long rc = Import.ImportIovec(write, p.Mm, local, ref iov, out IovIter iter);
            if (rc < 0) return rc;
            if (iter.Count == 0) return 0;
            if (remote.Length > IovLimits.MaxIov) return -Errno.EINVAL;
            foreach (var r in remote) if ((long)r.Len < 0) return -Errno.EINVAL;
            return ProcessVmRwCore(target, ref iter, remote, write);
        }
        finally { if (iov.Length != 0) ArrayPool<IoVec>.Shared.Return(iov); }
    }

    /// <summary>
    /// <c>process_vm_rw_core</c>: for each remote segment, pins the target's pages a batch at a time
    /// (<c>pin_user_pages_remote</c>, FOLL_WRITE when writing) and copies between them and
    /// <paramref name="local"/>. Returns the bytes moved if any, else the error (-EFAULT when a remote
    /// page could not be pinned, or a local copy came back short). Also what the trace's fill and hash use.
    /// </summary>
    public static long ProcessVmRwCore(Process target, ref IovIter local, ReadOnlySpan<IoVec> remote, bool write)
    {
        ulong total = local.Count;
        ulong maxPages = 0;
        foreach (var r in remote)
            if ((long)r.Len > 0)
                maxPages = Math.Max(maxPages, (r.Base + r.Len) / PageSize - r.Base / PageSize + 1);
        if (maxPages == 0) return 0;
        if (target.HasExited) return -Errno.ESRCH;  // mm_access found no mm: the target exited
        int batch = (int)Math.Min(maxPages, PvmMaxPages);
        Page[]? rented = batch > PvmStackPages ? ArrayPool<Page>.Shared.Rent(batch) : null;
        Span<Page> pages = rented != null ? rented.AsSpan(0, batch) : stackalloc Page[PvmStackPages];
        try
        {
            long rc = 0;
            for (int i = 0; i < remote.Length && local.Count != 0 && rc == 0; i++)
                rc = ProcessVmSingleVec(target, remote[i].Base, remote[i].Len, ref local, pages, write);
            ulong moved = total - local.Count;
            return moved != 0 ? (long)moved : rc;
        }
        finally { if (rented != null) ArrayPool<Page>.Shared.Return(rented); }
    }

    // process_vm_rw_single_vec.
    private static unsafe long ProcessVmSingleVec(Process target, ulong addr, ulong len, ref IovIter local, Span<Page> pages, bool write)
    {
        if (len == 0) return 0;
        ulong pa = addr & PageMask;
        ulong startOffset = addr - pa;
        ulong nrPages = (addr + len - 1) / PageSize - addr / PageSize + 1;
        PhysicalMemory mem = target.Kernel.Memory;
        long rc = 0;
        while (rc == 0 && nrPages != 0 && local.Count != 0)
        {
            int want = (int)Math.Min(nrPages, (ulong)pages.Length);
            long pinned;
            using (target.Mm.MmapLock.Read())
                pinned = UserPages.PinUserPagesRemote(target.Mm, pa, want, write ? Foll.Write : 0, pages);
            if (pinned <= 0) return -Errno.EFAULT;
            ulong bytes = Math.Min((ulong)pinned * PageSize - startOffset, len);
            rc = ProcessVmRwPages(mem, pages[..(int)pinned], startOffset, bytes, ref local, write);
            len -= bytes;
            startOffset = 0;
            nrPages -= (ulong)pinned;
            pa += (ulong)pinned * PageSize;
            UserPages.UnpinUserPagesDirtyLock(target.Kernel.Space, pages[..(int)pinned], write);
        }
        return rc;
    }

    // process_vm_rw_pages: a short copy with local bytes still wanted is -EFAULT. Pages that follow
    // each other in memory too are copied as one run (as a large folio would be): the
    // bytes, their order and where a fault stops the copy are those of the page-by-page copy.
    // Not under a scheduler: there each page's copy follows its own point, as each
    // copy_page_to_iter is a place where another task can run and see the pages before it done.
    private static unsafe long ProcessVmRwPages(PhysicalMemory mem, ReadOnlySpan<Page> pages, ulong offset, ulong len, ref IovIter local, bool write)
    {
        for (int i = 0; len != 0 && local.Count != 0; i++)
        {
            ulong copy = Math.Min((ulong)PageSize - offset, len);
            byte* p = mem.Pointer(pages[i]) + offset;
            while (copy < len && i + 1 < pages.Length && !Sched.Attached && mem.Pointer(pages[i + 1]) == p + copy)
            {
                i++;
                copy += Math.Min((ulong)PageSize, len - copy);
            }
            ulong copied = write ? local.CopyFromIter(p, copy) : local.CopyToIter(p, copy);
            len -= copied;
            if (copied < copy && local.Count != 0) return -Errno.EFAULT;
            offset = 0;
        }
        return 0;
    }
}
