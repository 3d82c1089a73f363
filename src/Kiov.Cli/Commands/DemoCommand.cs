using System.CommandLine;
using System.Text;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Uaccess;

namespace Kiov.Cli.Commands;

/// <summary>
/// <c>kiov demo</c>: maps memory in a model address space, moves bytes through the kernel's user
/// copies (<c>copy_to_user</c>, <c>copy_from_user</c>), and shows where they stop: at a hole, at a
/// read-only page, at a kernel address refused by <c>access_ok</c>, and the same kernel address let
/// through by <c>set_fs(KERNEL_DS)</c> in the 2017 kernel. The output is deterministic.
/// </summary>
public static partial class DemoCommand
{
    private const ulong User = 0x1000_0000_0000;
    private const int Pg = PageGeometry.PageSize;
    private const int RW = Prot.Read | Prot.Write;
    private const int Anon = MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed;

    /// <summary>Builds the <c>demo</c> command.</summary>
    public static Command Create()
    {
        var command = new Command("demo", "Map memory, move bytes through copy_to_user/copy_from_user, and show where they stop");
        command.SetAction(parse => ExitCodes.Guard(parse.InvocationConfiguration.Error, () => Run(parse.InvocationConfiguration.Output)));
        return command;
    }

    /// <summary>Runs the demo, writing to <paramref name="output"/>; returns the exit status (0).</summary>
    /// <param name="output">Where the story goes.</param>
    public static int Run(TextWriter output)
    {
        using var memory = new PhysicalMemory(16L << 20);
        int total = memory.FrameCount;
        var kernel = new KernelSpace(memory);
        var kernel2017 = new KernelSpace(memory, KernelConfig.Linux2017);
        int reserved = total - memory.FreeFrames; // frame 0 and the two kernels' page tables
        output.WriteLine($"kiov demo: {memory.Size >> 20} MiB of physical memory, {total} frames, {memory.FreeFrames} free; the running kernel's rules (6.18, x86-64) unless a part names another");
        var mm = new AddressSpace(kernel);

        // 1. mmap, then a round trip through uaccess.
        long addr = mm.Mmap(User, 3 * Pg, RW, Anon);
        output.WriteLine();
        output.WriteLine($"1. mmap(0x{User:x}, 3 pages, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED) = 0x{addr:x}");
        byte[] hello = Encoding.ASCII.GetBytes("hello from the kernel");
        ulong left = UserAccess.CopyToUser(mm, User, hello);
        output.WriteLine($"   copy_to_user(0x{User:x}, \"hello from the kernel\", {hello.Length}) -> {left} bytes not copied ({mm.Faults} page fault: a zeroed page was mapped)");
        var back = new byte[hello.Length];
        left = UserAccess.CopyFromUser(mm, back, User);
        output.WriteLine($"   copy_from_user(buf, 0x{User:x}, {back.Length}) -> {left} not copied, buf = \"{Encoding.ASCII.GetString(back)}\"");

        // 2. A hole: the copy stops exactly at it.
        ulong hole = User + 2 * Pg, start = hole - 16;
        int r = mm.Munmap(hole, Pg);
        output.WriteLine();
        output.WriteLine($"2. munmap(0x{hole:x}, 1 page) = {r}: a hole after two mapped pages");
        left = UserAccess.CopyToUser(mm, start, new byte[48]);
        output.WriteLine($"   copy_to_user(0x{start:x}, 48 bytes) -> {left} not copied: {48 - (int)left} bytes landed, the copy stopped at the hole 0x{hole:x}");
        var tail = new byte[48];
        tail.AsSpan().Fill(0xff);
        left = UserAccess.CopyFromUser(mm, tail, start);
        output.WriteLine($"   copy_from_user(buf, 0x{start:x}, 48) -> {left} not copied; the last {left} bytes of buf were zeroed ({(tail.AsSpan(48 - (int)left).IndexOfAnyExcept((byte)0) < 0 ? "yes" : "NO")})");

        // 3. A read-only page refuses a write but not a read.
        ulong ro = User + Pg;
        r = mm.Mprotect(ro, Pg, Prot.Read);
        output.WriteLine();
        output.WriteLine($"3. mprotect(0x{ro:x}, 1 page, PROT_READ) = {r}");
        left = UserAccess.CopyToUser(mm, ro - 8, new byte[16]);
        output.WriteLine($"   copy_to_user(0x{ro - 8:x}, 16 bytes) -> {left} not copied: the write stopped at the read-only page");
        left = UserAccess.CopyFromUser(mm, new byte[16], ro - 8);
        output.WriteLine($"   copy_from_user(buf, 0x{ro - 8:x}, 16) -> {left} not copied: reading it is fine");

        // 4. A kernel address: access_ok refuses it before any page is looked at.
        Page secret = memory.Alloc(PageOwner.KernelBuffer);
        byte[] secretText = Encoding.ASCII.GetBytes("kernel secret");
        secretText.CopyTo(memory.Span(secret));
        ulong kaddr = PhysicalMemory.KernelAddress(secret);
        var stolen = new byte[secretText.Length];
        output.WriteLine();
        output.WriteLine($"4. a kernel buffer holds \"kernel secret\" at 0x{kaddr:x} (the direct map)");
        output.WriteLine($"   access_ok(0x{kaddr:x}, {stolen.Length}) = {UserAccess.AccessOk(kernel.Config, kaddr, (ulong)stolen.Length).ToString().ToLowerInvariant()} (the limit is 0x{kernel.Config.UserPtrMax:x})");
        left = UserAccess.CopyFromUser(mm, stolen, kaddr);
        output.WriteLine($"   copy_from_user(buf, 0x{kaddr:x}, {stolen.Length}) -> {left} not copied (the system call would return -EFAULT)");

        // 5. The 2017 kernel with set_fs(KERNEL_DS): the same address passes.
        var mm2017 = new AddressSpace(kernel2017);
        output.WriteLine();
        output.WriteLine($"5. the same on Linux {KernelConfig.Linux2017.Name} x86-64 (the seed thread's kernel), inside set_fs(KERNEL_DS):");
        using (UserAccess.SetKernelDs(kernel2017.Config))
        {
            output.WriteLine($"   access_ok(0x{kaddr:x}, {stolen.Length}) = {UserAccess.AccessOk(kernel2017.Config, kaddr, (ulong)stolen.Length).ToString().ToLowerInvariant()}");
            left = UserAccess.CopyFromUser(mm2017, stolen, kaddr);
        }
        output.WriteLine($"   copy_from_user(buf, 0x{kaddr:x}, {stolen.Length}) -> {left} not copied, buf = \"{Encoding.ASCII.GetString(stolen)}\"");
        output.WriteLine("   (a path that forgets set_fs(USER_DS) hands the kernel's memory to whoever chose the address)");
        output.WriteLine($"   after set_fs(old_fs): access_ok = {UserAccess.AccessOk(kernel2017.Config, kaddr, (ulong)stolen.Length).ToString().ToLowerInvariant()}");

        // 6. Teardown: every frame comes back.
        memory.Put(secret);
        mm.Dispose();
        mm2017.Dispose();
        int leaked = memory.LeakReport().Count;
        output.WriteLine();
        output.WriteLine($"6. exit_mmap of both address spaces: {memory.FreeFrames} frames free, {total - memory.FreeFrames} reserved (frame 0 and the kernels' page tables), {leaked} leaked");
        bool clean = leaked == 0 && total - memory.FreeFrames == reserved;
        output.WriteLine(clean ? "   no leak: every frame the demo used is back on the free list" : "   LEAK: frames the demo used are still allocated");
        clean &= RunIoPaths(output);
        clean &= RunForkStories(output);
        return clean ? ExitCodes.Ok : ExitCodes.Internal;
    }
}
