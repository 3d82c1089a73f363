using Kiov.Drivers;
using Kiov.Fs;
using Kiov.Gup;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;

namespace Kiov.Cli.Commands;

public static partial class DemoCommand
{
    // The second act: pinning pages, handing them to a pipe without a copy, and the seed thread's
    // question (kernel_write to a tape that pins its caller's pages) on each kernel the model knows.
    private static bool RunIoPaths(TextWriter output)
    {
        bool clean = true;
        using (var kernel = new Kernel(KernelConfig.Current, 16L << 20))
        {
            Process p = kernel.CreateProcess();
            Syscalls.Mmap(p, User, 4 * Pg, RW, Anon, -1, 0);
            FillUser(p, User, 4 * Pg, 0x11);

            // 7. pin_user_pages_fast: the lockless walk, the pin bias, and a kernel address refused.
            Span<Page> pages = stackalloc Page[4];
            int pinned = UserPages.PinUserPagesFast(p.Mm, User, 4, Foll.Write, pages);
            output.WriteLine();
            output.WriteLine($"7. pin_user_pages_fast(0x{User:x}, 4 pages, FOLL_WRITE) = {pinned}: page {pages[0].Pfn} now has refcount {kernel.Memory.RefCount(pages[0])} (1 for the mapping + {PhysicalMemory.PinBias} for the pin), maybe-DMA-pinned = {Lower(kernel.Memory.MaybeDmaPinned(pages[0]))}");
            output.WriteLine($"   counters: {kernel.Space.Counters.FastPathHits} fast-path call, {kernel.Space.Counters.SlowPathFallbacks} slow fallbacks, {kernel.Space.Counters.PinsAcquired} pins");
            UserPages.UnpinUserPagesDirtyLock(kernel.Space, pages[..pinned], makeDirty: true);
            output.WriteLine($"   unpin_user_pages_dirty_lock: refcount back to {kernel.Memory.RefCount(pages[0])}, dirty = {Lower((kernel.Memory.Flags(pages[0]) & PageFlags.Dirty) != 0)}");
            int refused = UserPages.PinUserPagesFast(p.Mm, Layout.DirectMapBase, 1, 0, pages);
            output.WriteLine($"   pin_user_pages_fast(0x{Layout.DirectMapBase:x}, 1) = {refused} (-EFAULT: the range ends above TASK_SIZE_MAX)");

            // 8. vmsplice: the pipe holds the user's page itself, so a later write shows through.
            Syscalls.Pipe2(p, OpenFlags.NonBlock, out int rfd, out int wfd);
            long queued = Syscalls.Vmsplice(p, wfd, [new IoVec(User, Pg)], 0);
            FillUser(p, User, Pg, 0x22);
            long read = Syscalls.Read(p, rfd, User + 3 * Pg, Pg);
            byte first = PeekUser(p, User + 3 * Pg);
            output.WriteLine();
            output.WriteLine($"8. vmsplice(pipe, [0x{User:x}, 4096]) = {queued}; then the process writes 0x22 over that memory");
            output.WriteLine($"   read(pipe) = {read} and the first byte read is 0x{first:x2}: the pipe held a reference to the page, not a copy");
            Syscalls.Close(p, rfd);
            Syscalls.Close(p, wfd);
            p.Dispose();
            clean &= kernel.LeakReport().Count == 0;
        }

        clean &= RunPresets(output);
        RunProposal(output);
        return clean;
    }

    private static string GupName(TapeGup gup) => gup switch
    {
        TapeGup.Unlocked => "get_user_pages_unlocked",
        TapeGup.Fast => "get_user_pages_fast",
        _ => "pin_user_pages_fast",
    };

    private static string Lower(bool b) => b ? "true" : "false";

    private static void FillUser(Process p, ulong addr, int len, byte value)
    {
        var bytes = new byte[len];
        bytes.AsSpan().Fill(value);
        Uaccess.UserAccess.CopyToUser(p.Mm, addr, bytes);
    }

    private static byte PeekUser(Process p, ulong addr)
    {
        var one = new byte[1];
        Uaccess.UserAccess.CopyFromUser(p.Mm, one, addr);
        return one[0];
    }
}
