using Kiov.Fs;
using Kiov.Iov;
using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Drivers;

/// <summary>
/// A disk (<c>struct block_device</c> with its queue limits) whose sectors live in memory, and the
/// direct I/O that reaches it through its device node opened with O_DIRECT (block/fops.c
/// <c>blkdev_direct_IO</c>): the alignment checks, then bios filled by <c>bio_iov_iter_get_pages</c>
/// (<see cref="Bio.IovIterGetPages"/>) until the request is covered, each "DMA"ed to or from the
/// store and its pages released at completion. Counts bios and page-API calls for the comparison.
/// </summary>
internal sealed class BlockDevice
{
    private readonly byte[] _store;
    private readonly object _lock = new();

    /// <summary>A disk of <paramref name="bytes"/> bytes (whole logical blocks) with the given
    /// logical block size (a power of two, 512 to 4096) and DMA alignment mask (<c>dma_alignment</c>, 511 by default).</summary>
    public BlockDevice(Kernel kernel, long bytes, uint logicalBlockSize = 512, uint dmaAlignment = 511, BioGetPages? method = null)
    {
        if (logicalBlockSize < 512 || logicalBlockSize > PageSize || (logicalBlockSize & (logicalBlockSize - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(logicalBlockSize));
        if (bytes <= 0 || bytes % logicalBlockSize != 0) throw new ArgumentOutOfRangeException(nameof(bytes));
        Kernel = kernel;
        LogicalBlockSize = logicalBlockSize;
        DmaAlignment = dmaAlignment;
        Method = method ?? (kernel.Config.HasFollPin ? BioGetPages.ExtractPages : BioGetPages.GetPages2017);
        _store = new byte[bytes];
    }

    /// <summary>The machine.</summary>
    public Kernel Kernel { get; }
    /// <summary><c>bdev_logical_block_size</c>.</summary>
    public uint LogicalBlockSize { get; }
    /// <summary><c>bdev_dma_alignment</c>: a direct-I/O buffer's address must have these bits clear.</summary>
    public uint DmaAlignment { get; }
    /// <summary>How bios get their pages (the kernel's era by default, or the primitive).</summary>
    public BioGetPages Method { get; }
    /// <summary>The disk's size in bytes (<c>bdev_nr_bytes</c>).</summary>
    public long Size => _store.Length;
    /// <summary>Bios submitted.</summary>
    public long Bios { get; private set; }
    /// <summary>Calls into the page-getting API made to fill them.</summary>
    public long ApiCalls { get; private set; }
    /// <summary>Page pieces (bvecs) they carried.</summary>
    public long Segments { get; private set; }
    /// <summary>Pages they held a pin or reference on.</summary>
    public long PagesHeld { get; private set; }

    /// <summary>The disk's bytes (a test's view of the medium).</summary>
    public Span<byte> Store => _store;

    /// <summary>Opens the device node (<c>blkdev_open</c>), with O_DIRECT when <paramref name="direct"/>.</summary>
    public BlockDeviceFile Open(FMode mode, bool direct) => new(this, mode, direct);

    /// <summary>
    /// <c>blkdev_direct_IO</c> → <c>__blkdev_direct_IO</c>: -EINVAL unless the position and count are
    /// whole logical blocks and every segment's address and length are aligned
    /// (<c>blkdev_dio_invalid</c>); the request is cut at the end of the disk; then bio after bio is
    /// filled from the iterator, moved, and completed. Returns the bytes moved, or the first bio's error.
    /// </summary>
    internal long DirectIo(ref IovIter iter, ref long pos, bool write)
    {
        uint lbsMask = LogicalBlockSize - 1;
        if ((((ulong)pos | iter.Count) & lbsMask) != 0 || !iter.IsAligned(DmaAlignment, lbsMask)) return -Errno.EINVAL;
        if (pos >= Size) return 0;
        if ((ulong)(Size - pos) < iter.Count) iter.Truncate((ulong)(Size - pos));
        var scratch = new Page[Bio.MaxVecs];
        long done = 0;
        lock (_lock)
        {
            while (iter.Count != 0)
            {
                var bio = new Bio(Kernel.Space, Math.Min(Bio.MaxVecs, Math.Max(1, iter.NPages(Bio.MaxVecs))));
                long r = bio.IovIterGetPages(ref iter, Method, LogicalBlockSize, scratch);
                ApiCalls += bio.ApiCalls;
                if (r < 0) return done != 0 ? done : r;
                Bios++;
                Segments += bio.VecCount;
                PagesHeld += bio.PagesHeld;
                Dma(bio, pos + done, write);
                bio.ReleasePages(markDirty: !write);
                done += (long)bio.Size;
            }
        }
        pos += done;
        return done;
    }

    // The device moves the bio's pieces to or from its sectors, never through a virtual address.
    private unsafe void Dma(Bio bio, long at, bool write)
    {
        PhysicalMemory mem = Kernel.Memory;
        foreach (BioVec v in bio.Vecs)
        {
            var bytes = new Span<byte>(mem.Pointer(v.Page) + v.Offset, (int)v.Len);
            if (write) bytes.CopyTo(_store.AsSpan((int)at));
            else _store.AsSpan((int)at, (int)v.Len).CopyTo(bytes);
            at += v.Len;
        }
    }

    // The buffered path, reduced: the page cache is not modelled for the device node, so a read or
    // write without O_DIRECT copies straight between the iterator and the sectors.
    internal long Buffered(ref IovIter iter, ref long pos, bool write)
    {
        if (pos >= Size) return 0;
        int n = (int)Math.Min(iter.Count, (ulong)(Size - pos));
        ulong moved;
        lock (_lock)
            moved = write ? iter.CopyFromIter(_store.AsSpan((int)pos, n)) : iter.CopyToIter(_store.AsSpan((int)pos, n));
        if (moved == 0 && n != 0) return -Errno.EFAULT;
        pos += (long)moved;
        return (long)moved;
    }
}

/// <summary>The open device node (<c>def_blk_fops</c>): <c>-&gt;read_iter</c>, <c>-&gt;write_iter</c>, positioned.</summary>
internal sealed class BlockDeviceFile : KFile
{
    internal BlockDeviceFile(BlockDevice device, FMode mode, bool direct)
        : base(mode | FMode.PRead | FMode.PWrite | ((mode & FMode.Read) != 0 ? FMode.CanRead : 0) | ((mode & FMode.Write) != 0 ? FMode.CanWrite : 0))
    {
        Device = device;
        Direct = direct;
    }

    /// <summary>The disk.</summary>
    public BlockDevice Device { get; }
    /// <summary>O_DIRECT (IOCB_DIRECT on every call).</summary>
    public bool Direct { get; }

    /// <inheritdoc/>
    public override FileOps Ops => FileOps.ReadIter | FileOps.WriteIter;

    /// <inheritdoc/>
    public override string Name => "/dev/vda";

    /// <summary><c>blkdev_read_iter</c>.</summary>
    public override long ReadIter(ref IovIter to, ref long pos, IocbFlags flags) =>
        Direct ? Device.DirectIo(ref to, ref pos, write: false) : Device.Buffered(ref to, ref pos, write: false);

    /// <summary><c>blkdev_write_iter</c>: a write at or past the end of the disk is -ENOSPC.</summary>
    public override long WriteIter(ref IovIter from, ref long pos, IocbFlags flags)
    {
        if (pos >= Device.Size) return -Errno.ENOSPC;
        return Direct ? Device.DirectIo(ref from, ref pos, write: true) : Device.Buffered(ref from, ref pos, write: true);
    }
}
