using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kiov.Concurrency;
using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Uaccess;

/// <summary>
/// The kernel's user-access primitives (arch/x86/include/asm/uaccess*.h): <c>access_ok</c>,
/// <c>copy_to_user</c>, <c>copy_from_user</c>, <c>clear_user</c>. Copies translate each page through
/// the address space's page tables with a <see cref="PageTableCursor"/> (inside the
/// <see cref="WalkerGate"/>, as the MMU would), fault
/// missing pages in through <see cref="AddressSpace.FaultInUser"/>, stop exactly at the first byte
/// that cannot be reached, and return the bytes NOT copied. They never allocate.
/// </summary>
public static unsafe class UserAccess
{
    private const int PagesPerGateEntry = 16;

    [ThreadStatic] private static bool t_kernelDs;
    private static int s_kernelDsScopes; // Interlocked: scopes open on any thread, so that access_ok
                                          // reads the thread-local flag only when one might be set

    /// <summary>True while the calling thread runs under <c>set_fs(KERNEL_DS)</c>.</summary>
    public static bool KernelDs => Volatile.Read(ref s_kernelDsScopes) != 0 && t_kernelDs;

    /// <summary>
    /// <c>set_fs(KERNEL_DS)</c> for the calling thread until the scope is disposed (which restores the
    /// old limit, as <c>set_fs(old_fs)</c>). Only kernels before 5.10 have it.
    /// </summary>
    public static SetFsScope SetKernelDs(KernelConfig config)
    {
        if (!config.SetFsKernelDs) throw new InvalidOperationException($"set_fs() does not exist in kernel {config.Name}");
        bool old = t_kernelDs;
        Interlocked.Increment(ref s_kernelDsScopes);
        t_kernelDs = true;
        return new SetFsScope(old);
    }

    /// <summary>Restores the thread's address limit (<c>set_fs(old_fs)</c>).</summary>
    public readonly struct SetFsScope(bool old) : IDisposable
    {
        /// <summary>Restores the limit saved when the scope began.</summary>
        public void Dispose()
        {
            t_kernelDs = old;
            Interlocked.Decrement(ref s_kernelDsScopes);
        }
    }

    /// <summary>
    /// <c>access_ok(addr, size)</c>: the range must not wrap and must end at or below the limit
    /// (since Oct 2024: the boot-time <c>USER_PTR_MAX</c>). Under KERNEL_DS only a wrap fails.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AccessOk(KernelConfig config, ulong addr, ulong size)
    {
        ulong end = addr + size;
        if (end < addr) return false;
        return end <= config.UserPtrMax || KernelDs;
    }

    /// <summary><c>copy_to_user(dst, src, len)</c>: returns the bytes not copied.</summary>
    public static ulong CopyToUser(AddressSpace mm, ulong dst, byte* src, ulong len) => Copy(mm, dst, new FlatBuffer(src), 0, len, Op.ToUser);

    /// <summary><c>copy_to_user</c> from a span: returns the bytes not copied.</summary>
    public static ulong CopyToUser(AddressSpace mm, ulong dst, ReadOnlySpan<byte> src)
    {
        fixed (byte* p = src) return Copy(mm, dst, new FlatBuffer(p), 0, (ulong)src.Length, Op.ToUser);
    }

    /// <summary><c>copy_from_user(dst, src, len)</c>: returns the bytes not copied. (The kernel zeroes
    /// the uncopied tail of a short <c>copy_from_user</c>; so does this.)</summary>
    public static ulong CopyFromUser(AddressSpace mm, byte* dst, ulong src, ulong len)
    {
        ulong left = Copy(mm, src, new FlatBuffer(dst), 0, len, Op.FromUser);
        if (left != 0) NativeMemory.Clear(dst + (len - left), (nuint)left);
        return left;
    }

    /// <summary><c>copy_from_user</c> into a span: returns the bytes not copied.</summary>
    public static ulong CopyFromUser(AddressSpace mm, Span<byte> dst, ulong src)
    {
        fixed (byte* p = dst) return CopyFromUser(mm, p, src, (ulong)dst.Length);
    }

    /// <summary><c>raw_copy_from_user</c>: like <see cref="CopyFromUser(AddressSpace, byte*, ulong, ulong)"/>
    /// but the uncopied tail is left alone, as iov_iter's <c>copyin</c> needs.</summary>
    public static ulong RawCopyFromUser(AddressSpace mm, byte* dst, ulong src, ulong len) => Copy(mm, src, new FlatBuffer(dst), 0, len, Op.FromUser);

    /// <summary><c>copy_to_user</c> from the bytes <paramref name="offset"/> on of a run of whole
    /// pages (<c>copy_page_to_iter</c> page after page, in one pass through the page tables):
    /// returns the bytes not copied.</summary>
    internal static ulong CopyPagesToUser(AddressSpace mm, ulong dst, PageVector src, ulong offset, ulong len) =>
        Copy(mm, dst, src, offset, len, Op.ToUser);

    /// <summary><c>raw_copy_from_user</c> into the bytes <paramref name="offset"/> on of a run of
    /// whole pages (<c>copy_page_from_iter</c> page after page): returns the bytes not copied; the
    /// uncopied tail is left alone.</summary>
    internal static ulong RawCopyFromUserToPages(AddressSpace mm, PageVector dst, ulong offset, ulong src, ulong len) =>
        Copy(mm, src, dst, offset, len, Op.FromUser);

    /// <summary><c>clear_user(dst, len)</c>: returns the bytes not zeroed.</summary>
    public static ulong ClearUser(AddressSpace mm, ulong dst, ulong len) => Copy(mm, dst, new FlatBuffer(null), 0, len, Op.Clear);

    private enum Op { ToUser, FromUser, Clear }

    // 'kernel' from byte 'koffset' on is the kernel side of the copy (unused by Clear).
    private static ulong Copy<TKernel>(AddressSpace mm, ulong uaddr, TKernel kernel, ulong koffset, ulong len, Op op)
        where TKernel : struct, IKernelBuffer
    {
        if (len == 0) return 0;
        if (!AccessOk(mm.Kernel.Config, uaddr, len)) return len;
        bool write = op != Op.FromUser;
        ulong done = 0;
        while (true)
        {
            done += CopyPresent(mm, uaddr + done, kernel, koffset + done, len - done, op);
            if (done == len) return 0;
            // The MMU refused the page at uaddr+done: take the fault, as the exception table would
            // let the kernel do, and try that page again; a fault that fails ends the copy there.
            if (mm.FaultInUser(uaddr + done, write) != 0) return len - done;
        }
    }

    // Copies through present, permitted pages from 'addr' on, at most PagesPerGateEntry pages per
    // entry into the gate, and returns the bytes copied before the first page that needs a fault.
    private static ulong CopyPresent<TKernel>(AddressSpace mm, ulong addr, TKernel kernel, ulong koffset, ulong len, Op op)
        where TKernel : struct, IKernelBuffer
    {
        WalkerGate gate = mm.Kernel.Gate;
        ulong done = 0;
        bool blocked = false;
        while (done < len && !blocked)
        {
            int token = gate.Enter();
            try { done += CopyUnderGate(mm, addr + done, kernel, koffset + done, len - done, op, out blocked); }
            finally { gate.Exit(token); }
        }
        return done;
    }

    // One entry's worth of CopyPresent, inside the gate: at most PagesPerGateEntry pages, and never
    // across the boundary between the user and kernel halves (the root may differ between them: a
    // separate kernel root). Pages that are consecutive in physical memory too are copied as one
    // run (one vectorised copy, split only where the kernel side is), flushed before returning, so
    // no page of a run can be freed under it. A method of its own so that the loop's values live in
    // registers: none of them is live across the caller's try/finally. The leaf table is kept in
    // locals while the pages stay inside it; only a step into another 2 MiB walks the tables again.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong CopyUnderGate<TKernel>(AddressSpace mm, ulong addr, TKernel kernel, ulong koffset, ulong len, Op op, out bool blocked)
        where TKernel : struct, IKernelBuffer
    {
        PhysicalMemory mem = mm.Memory;
        bool write = op != Op.FromUser;
        ulong need = write ? Pte.Present | Pte.Write : Pte.Present;
        ulong want = write ? Pte.Accessed | Pte.Dirty : Pte.Accessed;
        // Where this entry stops: the end, the 16th page boundary, or the top of the user half.
        ulong stop = Math.Min(len, ((ulong)PagesPerGateEntry << PageShift) - (ulong)OffsetInPage(addr));
        if ((long)addr >= 0) stop = Math.Min(stop, (1UL << 63) - addr);
        var cursor = new PageTableCursor(mem, mm.Kernel.RootFor(mm.Pgd, addr), CursorGuard.WalkerGate, mm.Kernel.Gate);
        LeafRun lane = default;          // the leaf table in use and the run's end
        lane.Region = ulong.MaxValue;    // no address lies in this region
        byte* run = null;                // the user side of the pending run, in native memory
        ulong runStart = 0;              // where the run starts, as an offset from 'addr'
        ulong done = 0;
        bool refused = false;            // a page needs a fault (or a level is missing)
        bool haveEntry = false;          // ExtendRun read the entry of the next page and handed it on
        while (done < stop)
        {
            ulong a = addr + done;
            bool huge = false;
            ulong* pte = lane.Pte;
            if (!haveEntry)
            {
                if (PageTableCursor.InLeafRegion(a, lane.Region)) pte = PageTableCursor.LeafEntry(lane.Table, a);
                else
                {
                    pte = cursor.Find(a, out huge);
                    if (pte == null) { refused = true; break; }
                    if (!huge) PageTableCursor.RememberLeaf(pte, a, out lane.Table, out lane.Region);
                }
            }
            ulong e = lane.Entry;
            while (true)
            {
                if (haveEntry) haveEntry = false;
                else
                {
                    e = Pte.Read(pte);
                    if (mm.AfterPteReadHook is { } hook) hook(a);
                }
                if ((e & need) != need) { refused = true; break; }
                if (huge || (e & want) == want || Pte.TrySetBits(pte, e, want)) break;
            }
            if (refused) break;
            int pfn = Pte.Pfn(e) + (huge ? PageTables.Index(a, 0) : 0);
            byte* p = mem.Pointer(new Page(pfn)) + OffsetInPage(a);
            ulong chunk = Math.Min(stop - done, (ulong)(PageSize - OffsetInPage(a)));
            if (p != lane.RunEnd)
            {
                CopyRun(run, kernel, koffset + runStart, done - runStart, op);
                run = p;
                runStart = done;
            }
            lane.RunEnd = p + chunk;
            done += chunk;
            if (!huge && done < stop) haveEntry = ExtendRun(mm, mem, addr, ref done, stop, need | want, ref lane);
        }
        CopyRun(run, kernel, koffset + runStart, done - runStart, op);
        blocked = refused;
        return done;
    }

    // The state CopyUnderGate hands to ExtendRun and back: the leaf table it walks and its 2 MiB
    // region, where the pending run ends, and the entry ExtendRun read last but did not take.
    private struct LeafRun
    {
        public ulong* Table;
        public ulong Region;
        public byte* RunEnd;
        public ulong* Pte;
        public ulong Entry;
    }

    // The common page of a long copy, in a loop of its own with no call that returns: the next page
    // lies in the same leaf table, its entry already permits the access with accessed (and dirty)
    // set, and its frame follows the run in physical memory; it is then added to the run. Only while
    // no scheduler is attached and no test hook is set, for then Pte.Read and Pointer are exactly a
    // volatile read and TablePointer (each has a scheduling point, and the hook runs after each
    // read). Returns true when it read the next page's entry but did not take it (it is in
    // lane.Pte and lane.Entry, for the caller to go on with without reading it again); false when
    // it stopped before reading one.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool ExtendRun(AddressSpace mm, PhysicalMemory mem, ulong addr, ref ulong doneRef, ulong stop, ulong ok, ref LeafRun lane)
    {
        ulong done = doneRef, region = lane.Region;
        ulong* table = lane.Table;
        byte* runEnd = lane.RunEnd;
        bool handed = false;
        while (done < stop && !Sched.Attached && mm.AfterPteReadHook == null)
        {
            ulong a = addr + done; // page-aligned: the page before it was taken whole
            if (!PageTableCursor.InLeafRegion(a, region)) break;
            ulong* pte = PageTableCursor.LeafEntry(table, a);
            ulong e = Volatile.Read(ref *pte);
            byte* p;
            if ((e & ok) != ok || (p = mem.TablePointer(new Page(Pte.Pfn(e)))) != runEnd)
            {
                lane.Pte = pte;
                lane.Entry = e;
                handed = true;
                break;
            }
            ulong chunk = Math.Min(stop - done, (ulong)PageSize);
            runEnd = p + chunk;
            done += chunk;
        }
        lane.RunEnd = runEnd;
        doneRef = done;
        return handed;
    }

    // One run of user memory, copied forward piece by piece where the kernel side is not contiguous.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun<TKernel>(byte* user, TKernel kernel, ulong koffset, ulong count, Op op)
        where TKernel : struct, IKernelBuffer
    {
        while (count != 0)
        {
            ulong n = count;
            byte* k = op == Op.Clear ? null : kernel.At(koffset, ref n);
            CopyPiece(user, k, n, op);
            user += n;
            koffset += n;
            count -= n;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPiece(byte* user, byte* kernel, ulong count, Op op)
    {
        switch (op)
        {
            case Op.ToUser: ForwardCopy.Copy(kernel, user, count); break;
            case Op.FromUser: ForwardCopy.Copy(user, kernel, count); break;
            default: NativeMemory.Clear(user, (nuint)count); break;
        }
    }
}
