using Kiov.Fs;
using Kiov.Gup;
using Kiov.Memory;
using Kiov.Uaccess;
using Microsoft.Win32.SafeHandles;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Drivers;

/// <summary>How the tape driver gets the caller's pages for direct I/O, by era of drivers/scsi/st.c.</summary>
internal enum TapeGup
{
    /// <summary>2016 to about 2018 (the seed thread's st.c, 4.10 and 4.15): <c>get_user_pages_unlocked</c>,
    /// the slow path, whose VMA lookup rejects kernel addresses. The default on presets before FOLL_PIN.</summary>
    Unlocked,
    /// <summary>The conversion Al Viro warned about, which st.c had by 5.2 (its <c>rw == READ</c>
    /// argument became FOLL_WRITE then): <c>get_user_pages_fast</c>, whose 2017 generic fast side
    /// trusted <c>access_ok()</c> alone.</summary>
    Fast,
    /// <summary>Since 2020 (5.9, "scsi: st: convert get_user_pages() --&gt; pin_user_pages()"):
    /// <c>pin_user_pages_fast</c> and <c>unpin_user_pages_dirty_lock</c>.</summary>
    PinFast,
}

/// <summary>
/// A SCSI tape drive (drivers/scsi/st.c, reduced to its data path): its medium is a real host file.
/// A transfer whose buffer is suitably aligned goes by direct I/O: the caller's pages are taken with
/// GUP (<see cref="TapeGup"/>) and the "DMA" moves bytes between those pages and the host file.
/// When GUP cannot get every page, the driver falls back, silently, to its bounce buffer and
/// <c>copy_from_user</c>/<c>copy_to_user</c> (<c>setup_buffering</c>). In variable-block mode (block
/// size 0) one call is one block: a count outside the drive's block limits is -EINVAL, and one the
/// bounce buffer cannot grow to hold is -EOVERFLOW; in fixed-block mode a count must be whole blocks
/// (-EINVAL otherwise) and the bounce path loops a buffer's worth at a time (<c>st_write</c>,
/// <c>st_read</c>). The file has only plain <c>-&gt;read</c>/<c>-&gt;write</c>, so since 5.10
/// <c>kernel_write</c> to it fails with EINVAL.
/// </summary>
internal sealed class ScsiTape : IDisposable
{
    /// <summary><c>queue_dma_alignment</c> of the drive: a direct-I/O buffer must be 4-byte aligned.</summary>
    public const int DmaAlignmentMask = 3;

    private readonly SafeFileHandle _medium;
    private readonly object _lock = new();  // the drive serves one request at a time (STp->lock)
    private long _directTransfers, _bounceTransfers;
    private long _head; // where the tape is, guarded by _lock: a tape is not seekable, it moves

    /// <summary><c>st_fixed_buffer_size</c>: the bounce buffer of a fixed-block drive holds at least 32 KiB.</summary>
    public const int FixedBufferSize = 32 * 1024;

    /// <summary>Attaches a drive whose medium is the host file <paramref name="hostPath"/> (created if
    /// absent). <paramref name="gup"/> defaults to what st.c of the kernel's era used
    /// (<see cref="DefaultGup"/>); <paramref name="blockSize"/> 0 is variable-block mode, whose blocks
    /// may be 1 to <paramref name="maxBlock"/> bytes (0: no limit reported by the drive).</summary>
    public ScsiTape(Kernel kernel, string hostPath, TapeGup? gup = null, int maxPages = 256, bool directIo = true,
                    int blockSize = 0, int maxBlock = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blockSize);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBlock);
        Kernel = kernel;
        Gup = gup ?? DefaultGup(kernel.Config);
        MaxPages = maxPages;
        DirectIo = directIo;
        BlockSize = blockSize;
        MaxBlock = maxBlock;
        _medium = File.OpenHandle(hostPath, System.IO.FileMode.OpenOrCreate, FileAccess.ReadWrite);
    }

    /// <summary>The GUP st.c's <c>sgl_map_user_pages</c> used in <paramref name="config"/>'s era:
    /// <c>get_user_pages_unlocked</c> before FOLL_PIN (4.10, 4.15), <c>pin_user_pages_fast</c> since
    /// the 5.9 conversion.</summary>
    public static TapeGup DefaultGup(KernelConfig config) => config.HasFollPin ? TapeGup.PinFast : TapeGup.Unlocked;

    /// <summary>The block size: 0 for variable-block mode.</summary>
    public int BlockSize { get; }
    /// <summary>The largest block the drive accepts in variable-block mode (<c>STp-&gt;max_block</c>); 0 for no limit.</summary>
    public int MaxBlock { get; }
    /// <summary>The most bytes the bounce buffer can grow to (<c>enlarge_buffer</c>'s scatter-gather capacity).</summary>
    public long BufferLimit => (long)MaxPages * PageSize;

    /// <summary>The machine the drive is attached to.</summary>
    public Kernel Kernel { get; }
    /// <summary>How direct I/O gets pages.</summary>
    public TapeGup Gup { get; }
    /// <summary>The most pages one direct transfer may use (the st_buffer's scatter-gather capacity).</summary>
    public int MaxPages { get; }
    /// <summary><c>try_direct_io</c>.</summary>
    public bool DirectIo { get; }
    /// <summary>Transfers that went by direct I/O.</summary>
    public long DirectTransfers => Interlocked.Read(ref _directTransfers);
    /// <summary>Transfers that went through the bounce buffer.</summary>
    public long BounceTransfers => Interlocked.Read(ref _bounceTransfers);
    /// <summary>The medium's length in bytes.</summary>
    public long MediumLength => RandomAccess.GetLength(_medium);

    /// <summary><c>MTREW</c>: winds the tape back to the start.</summary>
    public void Rewind() { lock (_lock) _head = 0; }

    /// <summary>Opens the drive (<c>st_open</c>).</summary>
    public TapeFile Open(FMode mode) => new(this, mode);

    /// <summary>Detaches the drive, closing the host file.</summary>
    public void Dispose() => _medium.Dispose();

    /// <summary><c>st_write</c>/<c>st_read</c>: moves <paramref name="count"/> bytes between the
    /// caller's buffer and the medium where the tape head is, then moves the head. Returns the bytes
    /// moved or -errno: -EINVAL for a count that is not whole blocks (fixed) or outside the block
    /// limits (variable, writes), -EOVERFLOW when direct I/O is not possible and the bounce buffer
    /// cannot hold a variable block.</summary>
    internal long Transfer(Process caller, ulong buf, ulong count, bool toTape)
    {
        if (BlockSize != 0 && count % (ulong)BlockSize != 0) return -Errno.EINVAL;
        if (toTape && BlockSize == 0 && MaxBlock > 0 && count > (ulong)MaxBlock) return -Errno.EINVAL;
        if (count == 0) return 0;
        lock (_lock)
        {
            long pos = _head;
            // setup_buffering: direct I/O when enabled and the buffer is DMA-aligned and every page
            // could be got; any failure falls back to buffering, silently.
            ulong nPages = (ulong)PagesSpanned(buf, count);
            if (DirectIo && (buf & DmaAlignmentMask) == 0 && nPages <= (ulong)MaxPages && buf + count >= buf)
            {
                Page[] pages = new Page[(int)nPages];
                if (MapUserPages(caller, buf, pages, toTape))
                {
                    try { Dma(pages, OffsetInPage(buf), count, pos, toTape); }
                    finally { UnmapUserPages(pages, dirtied: !toTape); }
                    Interlocked.Increment(ref _directTransfers);
                    _head = pos + (long)count;
                    return (long)count;
                }
            }
            // The bounce buffer: a variable block must fit whole (enlarge_buffer, else -EOVERFLOW);
            // fixed blocks go a buffer's worth of whole blocks at a time.
            long bufsize = BlockSize == 0 ? (long)Math.Min(count, (ulong)long.MaxValue)
                         : Math.Max(BlockSize, FixedBufferSize) / BlockSize * BlockSize;
            if (bufsize > BufferLimit)
            {
                if (BlockSize == 0) return -Errno.EOVERFLOW;
                bufsize = Math.Max(BlockSize, BufferLimit / BlockSize * BlockSize);
            }
            ulong done = 0;
            while (done < count)
            {
                ulong chunk = Math.Min(count - done, (ulong)bufsize);
                long r = Bounce(caller, buf + done, chunk, pos + (long)done, toTape);
                if (r < 0) { if (done == 0) return r; break; }
                done += (ulong)r;
                Interlocked.Increment(ref _bounceTransfers);
                if ((ulong)r < chunk) break; // end of the recorded data
            }
            _head = pos + (long)done;
            return (long)done;
        }
    }

    // sgl_map_user_pages: all of the buffer's pages, or none (what was got is released).
    private bool MapUserPages(Process caller, ulong buf, Page[] pages, bool toTape)
    {
        Foll write = toTape ? 0 : Foll.Write; // reading the tape writes memory
        ulong start = buf & PageMask;
        long got = Gup switch
        {
            TapeGup.Unlocked => UserPages.GetUserPagesUnlocked(caller.Mm, start, pages.Length, write, pages),
            TapeGup.Fast => UserPages.GetUserPagesFast(caller.Mm, start, pages.Length, write, pages),
            _ => UserPages.PinUserPagesFast(caller.Mm, start, pages.Length, write, pages),
        };
        if (got == pages.Length) return true;
        if (got > 0) UnmapUserPages(pages.AsSpan(0, (int)got), dirtied: false);
        return false;
    }

    // sgl_unmap_user_pages: dirty what the tape wrote into, then drop the references or pins.
    private void UnmapUserPages(ReadOnlySpan<Page> pages, bool dirtied)
    {
        if (Gup == TapeGup.PinFast)
        {
            UserPages.UnpinUserPagesDirtyLock(Kernel.Space, pages, dirtied);
            return;
        }
        foreach (var p in pages)
        {
            if (dirtied) Kernel.Memory.SetFlags(p, PageFlags.Dirty);
            UserPages.PutPage(Kernel.Memory, p);
        }
    }

    // The "DMA": the drive moves bytes between the pages and the medium, never through a virtual address.
    private unsafe void Dma(Page[] pages, int offset, ulong count, long pos, bool toTape)
    {
        for (int i = 0; count != 0; i++)
        {
            int chunk = (int)Math.Min(count, (ulong)(PageSize - offset));
            var bytes = new Span<byte>(Kernel.Memory.Pointer(pages[i]) + offset, chunk);
            if (toTape) RandomAccess.Write(_medium, bytes, pos);
            else bytes[RandomAccess.Read(_medium, bytes, pos)..].Clear();
            pos += chunk;
            count -= (ulong)chunk;
            offset = 0;
        }
    }

    // append_to_buffer/from_buffer: the driver's own buffer and the user copies.
    private long Bounce(Process caller, ulong buf, ulong count, long pos, bool toTape)
    {
        var bounce = new byte[count];
        if (toTape)
        {
            if (UserAccess.CopyFromUser(caller.Mm, bounce, buf) != 0) return -Errno.EFAULT;
            RandomAccess.Write(_medium, bounce, pos);
            return (long)count;
        }
        int read = RandomAccess.Read(_medium, bounce, pos);
        if (UserAccess.CopyToUser(caller.Mm, buf, bounce.AsSpan(0, read)) != 0) return -Errno.EFAULT;
        return read;
    }
}

/// <summary>An open tape drive (<c>st_fops</c>): plain <c>-&gt;read</c> and <c>-&gt;write</c> only, no
/// iterators, as st.c still has.</summary>
internal sealed class TapeFile : KFile
{
    internal TapeFile(ScsiTape drive, FMode mode)
        : base(mode | ((mode & FMode.Read) != 0 ? FMode.CanRead : 0) | ((mode & FMode.Write) != 0 ? FMode.CanWrite : 0)) => Drive = drive;

    /// <summary>The drive.</summary>
    public ScsiTape Drive { get; }

    /// <inheritdoc/>
    public override FileOps Ops => FileOps.Read | FileOps.Write;

    /// <inheritdoc/>
    public override string Name => "/dev/st0";

    /// <summary><c>st_write</c>.</summary>
    public override long Write(Process caller, ulong buf, ulong count, ref long pos) => Drive.Transfer(caller, buf, count, toTape: true);

    /// <summary><c>st_read</c>.</summary>
    public override long Read(Process caller, ulong buf, ulong count, ref long pos) => Drive.Transfer(caller, buf, count, toTape: false);
}
