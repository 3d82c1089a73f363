using Kiov.Drivers;
using Kiov.Fs;
using Kiov.Memory;

namespace Kiov.Cli.Commands;

public static partial class DemoCommand
{
    private const ulong AliasMask = (1UL << 47) - 1;

    // Part 9: the seed thread's question, kernel by kernel and architecture by architecture, then what
    // the two dangerous layouts break. Every line names the version and architecture it is about.
    private static bool RunPresets(TextWriter output)
    {
        output.WriteLine();
        output.WriteLine("9. The seed thread's question: kernel_write(/dev/st0, kernel buffer \"kernel secret\", 13) under set_fs(KERNEL_DS);");
        output.WriteLine("   st.c does direct I/O by GUP on what it takes for a user address. What each kernel did:");
        bool clean = true;
        string medium = Path.Combine(Path.GetTempPath(), $"kiov-demo-tape-{Environment.ProcessId}.bin");
        try
        {
            foreach (var (config, gup, alias) in new (KernelConfig, TapeGup?, bool)[] {
                (KernelConfig.Linux2017, null, false),
                (KernelConfig.Linux2017, TapeGup.Fast, false),
                (KernelConfig.Linux2017Arm64, TapeGup.Fast, false),
                (KernelConfig.Linux2017Arm64, TapeGup.Fast, true),
                (KernelConfig.Linux2017ArmLpae, TapeGup.Fast, false),
                (KernelConfig.Linux2017Fixed, TapeGup.Fast, false),
                (KernelConfig.Linux5_10, null, false),
                (KernelConfig.Current, null, false) })
            {
                clean &= TapeCase(output, medium, config, gup, alias);
            }
            output.WriteLine("   (st.c as shipped used get_user_pages_unlocked until after 4.15; \"a fast-GUP st\" is the conversion Al Viro warned about)");
            clean &= LpaeDamage(output, medium);
            clean &= Arm64Damage(output, medium);
        }
        finally { File.Delete(medium); }
        return clean;
    }

    private static string ArchName(KernelConfig config) => config.Arch switch
    {
        Architecture.Arm64 => "arm64",
        Architecture.ArmLpae => "arm LPAE",
        _ => "x86-64",
    };

    private static string Version(KernelConfig config) => config == KernelConfig.Current ? "6.18" : config.Name.Split('-')[0];

    private static bool TapeCase(TextWriter output, string medium, KernelConfig config, TapeGup? gup, bool alias)
    {
        File.Delete(medium);
        using var kernel = new Kernel(config, 16L << 20);
        Process p = kernel.CreateProcess();
        using var tape = new ScsiTape(kernel, medium, gup);
        Page buffer = kernel.Memory.Alloc(PageOwner.KernelBuffer);
        kernel.Memory.Get(buffer); // its owner keeps it; ARM LPAE's stray put_page must not free it here
        "kernel secret"u8.CopyTo(kernel.Memory.Span(buffer));
        ulong kaddr = PhysicalMemory.KernelAddress(buffer);
        Page head = new(buffer.Pfn & ~511);
        int headBefore = kernel.Memory.RefCount(head);
        if (alias)
        {
            Syscalls.Mmap(p, kaddr & AliasMask & ~(ulong)(Pg - 1), Pg, RW, Anon, -1, 0);
            Uaccess.UserAccess.CopyToUser(p.Mm, kaddr & AliasMask, "user's bytes!"u8);
        }
        KFile file = tape.Open(FMode.Write);
        long pos = 0;
        long r = KernelRw.KernelWrite(p, file, kaddr, 13, ref pos);
        file.Put();
        string recorded = File.Exists(medium) ? System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(medium)) : "";
        string how = r < 0 ? "refused: st has no ->write_iter, and kernel_write needs one since 5.10"
            : tape.DirectTransfers == 0 ? "bounce buffer: GUP refused, copy_from_user under KERNEL_DS copied the buffer"
            : kernel.Space.Counters.KernelPagesPinnedByUserGup > 0 ? $"direct I/O on the KERNEL page itself; the reference went to the section head (refcount {headBefore} -> {kernel.Memory.RefCount(head)})"
            : $"direct I/O on the USER page at the alias 0x{kaddr & AliasMask:x}: the tape recorded \"{recorded}\"";
        string gupName = GupName(tape.Gup) + (gup == null ? " (as shipped)" : " (a fast-GUP st)");
        if (alias) gupName += ", user memory at the alias";
        output.WriteLine($"   Linux {Version(config),-4} {ArchName(config),-8} {gupName,-66} -> {r,3}: {how}");
        for (int extra = kernel.Memory.RefCount(head) - headBefore; extra > 0; extra--) kernel.Memory.Put(head);
        for (int refs = kernel.Memory.RefCount(buffer); refs > 0; refs--) kernel.Memory.Put(buffer);
        p.Dispose();
        return kernel.LeakReport().Count == 0;
    }

    // ARM LPAE 4.10 with a fast-GUP st: kernel_read of one tape block into a kmalloc'd buffer. The
    // reference goes on the section's head, put_page drops the buffer page's only one: the page is
    // freed with a live credentials record in it, and the user's next pipe write is given that page.
    private static bool LpaeDamage(TextWriter output, string medium)
    {
        File.WriteAllBytes(medium, new byte[512]);
        using var kernel = new Kernel(KernelConfig.Linux2017ArmLpae, 16L << 20);
        PhysicalMemory mem = kernel.Memory;
        Process p = kernel.CreateProcess();
        using var tape = new ScsiTape(kernel, medium, TapeGup.Fast);
        Syscalls.Mmap(p, User, Pg, RW, Anon, -1, 0);
        var attack = new byte[Pg];
        attack.AsSpan(0, 2048).Fill(0x41); // uid 0 at 2048
        Uaccess.UserAccess.CopyToUser(p.Mm, User, attack);
        Syscalls.Pipe2(p, OpenFlags.NonBlock, out int rfd, out int wfd);
        Page slab = mem.Alloc(PageOwner.KernelBuffer);
        Page head = new(slab.Pfn & ~511);
        BitConverter.GetBytes(1000u).CopyTo(mem.Span(slab)[2048..]);
        output.WriteLine();
        output.WriteLine($"   What that breaks, Linux 4.10 arm LPAE, a fast-GUP st: page {slab.Pfn} holds a 512-byte buffer and, at 2048, a credentials record, uid {Uid(mem, slab)}");
        KFile file = tape.Open(FMode.Read);
        long pos = 0;
        long r = KernelRw.KernelRead(p, file, PhysicalMemory.KernelAddress(slab), 512, ref pos);
        file.Put();
        bool freed = (mem.Flags(slab) & PageFlags.Free) != 0;
        output.WriteLine($"   kernel_read(/dev/st0, buffer, 512) = {r}: the tape's DMA filled the buffer, then put_page dropped a reference GUP had put on page {head.Pfn}: page {slab.Pfn} {(freed ? "is FREE, the record still in use" : "survived")}");
        long w = Syscalls.Write(p, wfd, User, (ulong)Pg);
        output.WriteLine($"   the user writes {w} bytes to a pipe: pipe_write's new page is page {slab.Pfn} ({(mem.Owner(slab) == PageOwner.Pipe ? "yes" : "no")}), and the record's uid is now {Uid(mem, slab)}");
        mem.Put(head);
        Syscalls.Close(p, rfd);
        Syscalls.Close(p, wfd);
        p.Dispose();
        return kernel.LeakReport().Count == 0;
    }

    // arm64 4.10 with a fast-GUP st: a kernel address walked through the user's table is a user
    // address; kernel_read then fills the user's page and leaves the kernel buffer as it was.
    private static bool Arm64Damage(TextWriter output, string medium)
    {
        File.WriteAllBytes(medium, "from the tape"u8.ToArray());
        using var kernel = new Kernel(KernelConfig.Linux2017Arm64, 16L << 20);
        Process p = kernel.CreateProcess();
        using var tape = new ScsiTape(kernel, medium, TapeGup.Fast);
        Page buffer = kernel.Memory.Alloc(PageOwner.KernelBuffer);
        ulong kaddr = PhysicalMemory.KernelAddress(buffer);
        ulong alias = kaddr & AliasMask;
        Syscalls.Mmap(p, alias & ~(ulong)(Pg - 1), Pg, RW, Anon, -1, 0);
        Uaccess.UserAccess.CopyToUser(p.Mm, alias, "user's bytes!"u8); // the user has touched its memory: the page is present
        KFile file = tape.Open(FMode.Read);
        long pos = 0;
        long r = KernelRw.KernelRead(p, file, kaddr, 13, ref pos);
        file.Put();
        var user = new byte[13];
        Uaccess.UserAccess.CopyFromUser(p.Mm, user, alias);
        bool untouched = kernel.Memory.Span(buffer)[..13].IndexOfAnyExcept((byte)0) < 0;
        output.WriteLine($"   What that breaks, Linux 4.10 arm64, a fast-GUP st: kernel_read(/dev/st0, 0x{kaddr:x}, 13) = {r}: the user's page at 0x{alias:x} now reads \"{System.Text.Encoding.ASCII.GetString(user)}\", the kernel buffer is {(untouched ? "still all zero" : "filled")}");
        kernel.Memory.Put(buffer);
        p.Dispose();
        return kernel.LeakReport().Count == 0;
    }

    private static uint Uid(PhysicalMemory mem, Page page) => BitConverter.ToUInt32(mem.Span(page)[2048..]);
}
