using Kiov.Fs;
using Kiov.Gup;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;

namespace Kiov.Cli.Commands;

public static partial class DemoCommand
{
    // The third act: fork. What happens to a page a pipe or a pin holds when the process forks, and
    // the two CVEs that came of it, each on the kernels before and after its fix.
    private static bool RunForkStories(TextWriter output)
    {
        bool clean = true;

        // 10. CVE-2020-29374: the child vmsplices a page it shares with its parent, then lets go of it.
        output.WriteLine();
        output.WriteLine("10. fork, then the child vmsplices a shared page into a pipe and exits; the parent then writes its secret there");
        foreach (KernelConfig config in new[] { KernelConfig.Linux5_7, KernelConfig.Linux5_18, KernelConfig.Current })
        {
            using var kernel = new Kernel(config, 16L << 20);
            Process parent = kernel.CreateProcess();
            Syscalls.Mmap(parent, User, 2 * Pg, RW, Anon, -1, 0);
            FillUser(parent, User, Pg, 0x11);
            Syscalls.Pipe2(parent, OpenFlags.NonBlock, out int rfd, out int wfd);
            Process child = kernel.Fork(parent)!;
            Syscalls.Vmsplice(child, wfd, [new IoVec(User, Pg)], 0);
            child.Dispose();
            FillUser(parent, User, Pg, 0x5e);
            Syscalls.Read(parent, rfd, User + Pg, Pg);
            byte seen = PeekUser(parent, User + Pg);
            string verdict = seen == 0x5e
                ? "EXPOSED: do_wp_page reused the page by its map count, and the pipe saw the write"
                : "safe: the page was copied for the parent's write";
            output.WriteLine($"    Linux {config.Name,-7} ({ReuseRule(config.AnonReuse)}): the pipe reads 0x{seen:x2}: {verdict}");
            parent.Dispose();
            clean &= kernel.LeakReport().Count == 0;
        }

        // 11. Dirty COW (CVE-2016-5195), by a chosen schedule rather than a lucky race.
        output.WriteLine();
        output.WriteLine("11. Dirty COW: write(/proc/self/mem) into a read-only private mapping of a file, with madvise(DONTNEED)");
        output.WriteLine("    run right after the fault that broke copy-on-write (the race the exploit wins, here on purpose)");
        foreach (KernelConfig config in new[] { KernelConfig.Linux4_8, KernelConfig.Linux2017, KernelConfig.Current })
        {
            using var kernel = new Kernel(config, 16L << 20);
            Process p = kernel.CreateProcess();
            byte fileByte = DirtyCow(p);
            string verdict = fileByte == 0x66
                ? "the FILE was written: the retried look took the page cache's page"
                : "the file is untouched: the write went to the process's own copy";
            output.WriteLine($"    Linux {config.Name,-7} ({ForcedRule(config.ForcedWrite)}): file byte 0x{fileByte:x2}: {verdict}");
            p.Dispose();
            clean &= kernel.LeakReport().Count == 0;
        }

        // 12. A pinned page at fork: today the child gets a copy, so the pin keeps seeing the parent.
        output.WriteLine();
        output.WriteLine("12. pin_user_pages(FOLL_WRITE|FOLL_LONGTERM) of a page, fork, then the parent writes: does the pin still see the parent's memory?");
        Span<Page> pinned = stackalloc Page[1];
        foreach (KernelConfig config in new[] { KernelConfig.Linux5_7, KernelConfig.Current })
        {
            using var kernel = new Kernel(config, 16L << 20);
            Process p = kernel.CreateProcess();
            Syscalls.Mmap(p, User, Pg, RW, Anon, -1, 0);
            FillUser(p, User, Pg, 0x11);
            UserPages.PinUserPagesFast(p.Mm, User, 1, Foll.Write | Foll.LongTerm, pinned);
            Process child = kernel.Fork(p)!;
            FillUser(p, User, Pg, 0x22);
            byte viaPin = kernel.Memory.Span(pinned[0])[0];
            string verdict = viaPin == 0x22
                ? "yes: fork copied the pinned page for the child (copy_present_page)"
                : "NO: fork shared it, the parent's write copied it away from the pin";
            output.WriteLine($"    Linux {config.Name,-7}: the pinned page holds 0x{viaPin:x2}: {verdict}");
            UserPages.UnpinUserPages(kernel.Space, pinned);
            child.Dispose();
            p.Dispose();
            clean &= kernel.LeakReport().Count == 0;
        }
        output.WriteLine(clean ? "    no leak in the fork stories" : "    LEAK in the fork stories");
        return clean;
    }

    // A memfd page of 0x11 mapped read-only and private; a forced 4-byte write of 0x66 with the
    // zap scheduled after the first fault. Returns the file's first byte afterwards.
    private static byte DirtyCow(Process p)
    {
        const ulong Map = User, Buf = User + 0x100000;
        int fd = (int)Syscalls.MemfdCreate(p, "victim", 0);
        Syscalls.Mmap(p, Buf, Pg, RW, Anon, -1, 0);
        FillUser(p, Buf, Pg, 0x11);
        Syscalls.Pwrite(p, fd, Buf, Pg, 0);
        Syscalls.Mmap(p, Map, Pg, Prot.Read, MapFlags.Private | MapFlags.Fixed, fd, 0);
        PeekUser(p, Map);
        int zaps = 0;
        UserPages.AfterFaultHook = (mm, _) =>
        {
            if (mm != p.Mm || zaps++ != 0) return;
            var racer = new Thread(() => Syscalls.Madvise(p, Map, Pg, Madv.DontNeed));
            racer.Start();
            racer.Join();
        };
        try { Syscalls.ProcMemWrite(p, Map, [0x66, 0x66, 0x66, 0x66]); }
        finally { UserPages.AfterFaultHook = null; }
        Syscalls.Pread(p, fd, Buf, 1, 0);
        return PeekUser(p, Buf);
    }

    private static string ReuseRule(AnonReuseRule rule) => rule switch
    {
        AnonReuseRule.MapCount => "reuse by map count",
        AnonReuseRule.RefCount => "reuse by refcount",
        _ => "PageAnonExclusive",
    };

    private static string ForcedRule(ForcedWriteRule rule) => rule switch
    {
        ForcedWriteRule.DropWrite => "FOLL_WRITE dropped",
        ForcedWriteRule.FollCow => "FOLL_COW",
        _ => "exclusive anon only",
    };
}
