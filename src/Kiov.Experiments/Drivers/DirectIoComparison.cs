using Kiov.Fs;
using Kiov.Iov;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Drivers;

/// <summary>The requests the direct-I/O comparison writes with O_DIRECT to a block device.</summary>
internal enum DioShape
{
    /// <summary>One 1 MiB buffer.</summary>
    OneMiBBuffer,
    /// <summary>256 page-aligned 4 KiB iovecs, not adjacent in memory (what NFS and ceph O_DIRECT see).</summary>
    AlignedIovecs256,
    /// <summary>1024 iovecs (UIO_MAXIOV) of one 512-byte sector each, at a 1 KiB stride.</summary>
    SectorIovecs1024,
}

/// <summary>One row: a shape written by one way of filling bios, counted per MiB.</summary>
/// <param name="Shape">The request.</param>
/// <param name="Method">How bios got their pages.</param>
/// <param name="CallsPerMiB">Calls into the page-getting API per MiB.</param>
/// <param name="BiosPerMiB">Bios submitted per MiB.</param>
/// <param name="PagesPerCall">Pages pinned or referenced per call into the page API.</param>
/// <param name="GupCallsPerMiB">GUP calls underneath per MiB.</param>
/// <param name="AllocatedBytesPerMiB">Managed bytes allocated per MiB (the least of three passes after a warm-up).</param>
/// <param name="DataRight">The disk holds exactly the request's bytes afterwards.</param>
internal readonly record struct DioComparisonRow(DioShape Shape, BioGetPages Method, double CallsPerMiB, double BiosPerMiB, double PagesPerCall, double GupCallsPerMiB, double AllocatedBytesPerMiB, bool DataRight);

/// <summary>
/// bio_iov_iter_get_pages before and after conversion to Al Viro's primitive, on the block layer's own
/// direct I/O (blkdev_direct_IO): the 4.10 way (one get_pages per bio), the 6.x extract_pages loop, and
/// the primitive, counted like the seed thread's other callers in <see cref="BatchComparison"/>.
/// </summary>
internal static class DirectIoComparison
{
    private const ulong Base = 0x1000_0000_0000;

    /// <summary>Every shape by every method, each on a fresh machine whose kernel keeps the 2017
    /// non-advancing get_pages for the 4.10 method.</summary>
    public static IReadOnlyList<DioComparisonRow> Rows()
    {
        var rows = new List<DioComparisonRow>();
        foreach (DioShape shape in Enum.GetValues<DioShape>())
            foreach (BioGetPages method in Enum.GetValues<BioGetPages>())
                rows.Add(Measure(shape, method));
        return rows;
    }

    private static IoVec[] Layout(DioShape shape) => shape switch
    {
        DioShape.OneMiBBuffer => [new IoVec(Base, 1 << 20)],
        DioShape.AlignedIovecs256 => [.. Enumerable.Range(0, 256).Select(i => new IoVec(Base + (ulong)(2 * i) * PageSize, PageSize))],
        _ => [.. Enumerable.Range(0, 1024).Select(i => new IoVec(Base + (ulong)i * 1024, 512))],
    };

    private static DioComparisonRow Measure(DioShape shape, BioGetPages method)
    {
        using var kernel = new Kernel(KernelConfig.Current with { Name = "bench", NonAdvancingGetPages = true }, 64L << 20);
        Process p = kernel.CreateProcess();
        try
        {
            IoVec[] iov = Layout(shape);
            ulong span = iov[^1].Base + iov[^1].Len - Base;
            Syscalls.Mmap(p, Base, (span + PageSize - 1) & PageMask, Prot.Read | Prot.Write,
                          MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.Populate, -1, 0);
            var pattern = new byte[span];
            for (int i = 0; i < pattern.Length; i++) pattern[i] = (byte)(i * 7 + 1);
            Uaccess.UserAccess.CopyToUser(p.Mm, Base, pattern);
            var dev = new BlockDevice(kernel, 4L << 20, method: method);
            int fd = p.Files.Install(dev.Open(FMode.Read | FMode.Write, direct: true));
            ulong bytes = iov.Aggregate(0UL, (t, v) => t + v.Len);
            Syscalls.Pwritev(p, fd, iov, 0); // warm-up
            long calls0 = dev.ApiCalls, bios0 = dev.Bios, pages0 = dev.PagesHeld, gup0 = kernel.Space.Counters.GupCalls;
            long allocated = long.MaxValue;
            for (int pass = 0; pass < 3; pass++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                if (Syscalls.Pwritev(p, fd, iov, 0) != (long)bytes) throw new InvalidOperationException($"{method} on {shape}: short write");
                allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            double perMiB = (1 << 20) / (double)bytes / 3;
            bool right = true;
            ulong at = 0;
            foreach (IoVec v in iov)
            {
                right &= dev.Store.Slice((int)at, (int)v.Len).SequenceEqual(pattern.AsSpan((int)(v.Base - Base), (int)v.Len));
                at += v.Len;
            }
            Syscalls.Close(p, fd);
            return new DioComparisonRow(shape, method, (dev.ApiCalls - calls0) * perMiB, (dev.Bios - bios0) * perMiB,
                (dev.PagesHeld - pages0) / (double)(dev.ApiCalls - calls0),
                (kernel.Space.Counters.GupCalls - gup0) * perMiB, allocated * perMiB * 3, right);
        }
        finally { p.Dispose(); }
    }

    /// <summary>The rows as a fixed-width text table.</summary>
    public static IReadOnlyList<string> Format(IReadOnlyList<DioComparisonRow> rows)
    {
        var lines = new List<string> { $"{"O_DIRECT request",-17} {"bio_iov_iter_get_pages",-22} {"calls/MiB",10} {"bios/MiB",9} {"pages/call",10} {"gup/MiB",9} {"alloc B/MiB",12}  data" };
        foreach (DioComparisonRow r in rows)
        {
            string method = r.Method switch { BioGetPages.GetPages2017 => "4.10 get_pages/bio", BioGetPages.ExtractPages => "6.x extract loop", _ => "the primitive" };
            lines.Add(FormattableString.Invariant($"{r.Shape,-17} {method,-22} {r.CallsPerMiB,10:F1} {r.BiosPerMiB,9:F1} {r.PagesPerCall,10:F1} {r.GupCallsPerMiB,9:F1} {r.AllocatedBytesPerMiB,12:F0}  {(r.DataRight ? "ok" : "WRONG")}"));
        }
        return lines;
    }
}
