using Kiov.Gup;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Fs;

public static partial class Syscalls
{
    /// <summary>
    /// <c>pread()</c> on <c>/proc/PID/mem</c> of <paramref name="target"/> (<c>mem_read</c> → <c>mem_rw</c>):
    /// forced reads (FOLL_FORCE) of the target's memory into <paramref name="buffer"/>, which stands
    /// for the caller's buffer, from offset <paramref name="addr"/>. Returns the bytes read (stopping at
    /// the first page that cannot be reached), -EIO when none could be, or -EINVAL for a negative offset.
    /// </summary>
    public static long ProcMemRead(Process target, ulong addr, Span<byte> buffer) =>
        ProcMemRw(target, addr, buffer, write: false);

    /// <summary>
    /// <c>pwrite()</c> on <c>/proc/PID/mem</c> (<c>mem_write</c> → <c>mem_rw</c>): forced writes
    /// (FOLL_FORCE | FOLL_WRITE) of <paramref name="buffer"/> into the target's memory at
    /// <paramref name="addr"/> (the bytes are only read). A read-only private mapping is written by breaking copy-on-write: the
    /// file and every other process keep their page. A read-only shared mapping is refused (-EIO).
    /// </summary>
    public static long ProcMemWrite(Process target, ulong addr, Span<byte> buffer) =>
        ProcMemRw(target, addr, buffer, write: true);  // the buffer is only read

    // ksys_pread64/pwrite64 (a negative offset is EINVAL), MAX_RW_COUNT, then mem_rw page by page.
    private static long ProcMemRw(Process target, ulong addr, Span<byte> buffer, bool write)
    {
        if ((long)addr < 0) return -Errno.EINVAL;
        if ((ulong)buffer.Length > IovLimits.MaxRwCount) buffer = buffer[..(int)IovLimits.MaxRwCount];
        if (buffer.IsEmpty || target.HasExited) return 0;  // mmget_not_zero failed: nothing copied
        long copied = 0;
        while (!buffer.IsEmpty)
        {
            int chunk = Math.Min(buffer.Length, PageSize);
            int done = AccessRemoteVm(target.Mm, addr, buffer[..chunk], Foll.Force | (write ? Foll.Write : 0));
            if (done == 0) return copied == 0 ? -Errno.EIO : copied;
            buffer = buffer[done..];
            addr += (ulong)done;
            copied += done;
        }
        return copied;
    }

    /// <summary>
    /// <c>access_remote_vm</c> (<c>__access_remote_vm</c>): under <paramref name="mm"/>'s mmap read lock,
    /// page by page, takes the page with <c>get_user_pages_remote</c> and copies it to or from
    /// <paramref name="buffer"/> (FOLL_WRITE in <paramref name="flags"/> writes, dirtying the page);
    /// where no page can be had, an absent area may be a stack to grow, else it stops. Returns the bytes
    /// moved. The model's areas have no <c>vm_ops-&gt;access</c>, so a VM_IO or VM_PFNMAP area stops it too.
    /// </summary>
    public static int AccessRemoteVm(AddressSpace mm, ulong addr, Span<byte> buffer, Foll flags)
    {
        bool write = (flags & Foll.Write) != 0;
        PhysicalMemory mem = mm.Memory;
        Span<Page> one = stackalloc Page[1];
        int done = 0;
        using (mm.MmapLock.Read())
        {
            while (done < buffer.Length)
            {
                if (!Layout.IsUser(addr) || UserPages.GetUserPagesRemote(mm, addr, 1, flags, one) != 1)
                {
                    if (!Layout.IsUser(addr) || mm.FindVma(addr) != null) break;
                    mm.MmapLock.ReadUnlock();
                    int grown;
                    try { grown = mm.ExpandStack(addr); }
                    finally { mm.MmapLock.ReadLock(); }
                    if (grown != 0) break;
                    continue;
                }
                int offset = OffsetInPage(addr);
                int n = Math.Min(buffer.Length - done, PageSize - offset);
                Span<byte> page = mem.Span(one[0]).Slice(offset, n);
                if (write)
                {
                    buffer.Slice(done, n).CopyTo(page);
                    mem.SetFlags(one[0], PageFlags.Dirty);
                }
                else page.CopyTo(buffer.Slice(done, n));
                mem.Put(one[0]);
                done += n;
                addr += (ulong)n;
            }
        }
        return done;
    }
}
