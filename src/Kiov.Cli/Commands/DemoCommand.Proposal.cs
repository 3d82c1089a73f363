using Kiov.Iov;

namespace Kiov.Cli.Commands;

public static partial class DemoCommand
{
    // Part 10: the thread's main proposal, on the request it was about: one 1 MiB O_DIRECT request as
    // 256 page-aligned 4 KiB iovecs (what NFS and ceph see), through each way of getting its pages.
    private static void RunProposal(TextWriter output)
    {
        output.WriteLine();
        output.WriteLine("10. The thread's main proposal: one 1 MiB direct-I/O request of 256 page-aligned 4 KiB iovecs, its pages got by");
        output.WriteLine($"    {"method",-44} {"calls",6} {"pages/call",11} {"page lists",11} {"allocations",12} {"bytes",6}  pages right?");
        using var w = new BatchWorkload(BatchShape.AlignedIovecs256);
        using var bad = new BatchWorkload(BatchShape.MisalignedBetweenAligned);
        using var hole = new BatchWorkload(BatchShape.HoleMidRun);
        foreach (var (method, name) in new[] {
            (BatchMethod.Baseline2017, "2017 iov_iter_get_pages_alloc (+ advance)"),
            (BatchMethod.JeffV3Posted, "Jeff Layton's v3 as posted (+ advance)"),
            (BatchMethod.JeffV3Fixed, "v3 with its two bugs fixed (+ advance)"),
            (BatchMethod.Primitive2017, "Al's primitive on 4.10 get_pages, references"),
            (BatchMethod.Primitive, "Al's primitive standing alone, 5.6+ pins") })
        {
            BatchPass pass = w.Run(method);
            BatchPass odd = bad.Run(method), holed = hole.Run(method);
            string right = pass.WrongBytes == 0 ? "yes" : "NO";
            if (odd.WrongBytes != 0 || holed.WrongBytes != 0 || holed.NullPages != 0)
                right += $"; NOT on a misaligned iovec between aligned ones ({odd.WrongBytes} B misplaced) or a hole mid-run ({holed.NullPages} NULL page)";
            int allocations = method is BatchMethod.Primitive or BatchMethod.Primitive2017 ? (pass.KernelArrayBytes > 0 ? 1 : 0) : pass.Batches;
            output.WriteLine($"    {name,-44} {pass.Calls,6} {w.Pages / (double)pass.Calls,11:F0} {pass.Batches,11} {allocations,12} {pass.KernelArrayBytes,6}  {right}");
        }
        output.WriteLine("    (page lists: arrays or batches handed to the caller; allocations and bytes: the page-pointer arrays the");
        output.WriteLine("     kernel would kmalloc, 8 bytes a page; the primitive's one buffer serves every batch, and a request of");
        output.WriteLine("     16 pages or fewer needs none. Per MiB over more shapes: kiov bench)");
    }
}
