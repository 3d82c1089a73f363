using Kiov.Concurrency;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;
using Kiov.Uaccess;

namespace Kiov.Fs;

/// <summary>
/// A file in memory (<c>memfd_create</c>: a shmem inode): its data is its page cache, an
/// xarray of pages by index; holes read as zeros. Reads and writes go through iterators, splice
/// lends its pages to pipes, and mmap maps them (shared) or copies them on write (private).
/// </summary>
/// <remarks>The state lives in the <see cref="ShmemInode"/>, shared by reopened files; see its lock order.</remarks>
public sealed class MemfdFile : KFile
{
    /// <summary><c>MAX_LFS_FILESIZE</c> on 64-bit.</summary>
    public const long MaxFileSize = long.MaxValue;

    private readonly Kernel _kernel;
    private readonly ShmemInode _inode;

    /// <summary>Creates an empty memfd opened for reading and writing, with <paramref name="seals"/>
    /// (<c>F_SEAL_SEAL</c> unless created with MFD_ALLOW_SEALING; <c>F_SEAL_EXEC</c> for
    /// MFD_NOEXEC_SEAL, which also clears the exec bits of the mode).</summary>
    public MemfdFile(Kernel kernel, string name = "kiov", Seals seals = Seals.Seal)
        : this(kernel, new ShmemInode(kernel, seals, executable: (seals & Seals.Exec) == 0), "/memfd:" + name + " (deleted)", FMode.Read | FMode.Write)
    {
    }

    // A new open file of an existing inode (open of /proc/self/fd/N); takes over a reference on it.
    private MemfdFile(Kernel kernel, ShmemInode inode, string name, FMode access)
        : base(access | FMode.PRead | FMode.PWrite | FMode.CanRead | FMode.CanWrite)
    {
        _kernel = kernel;
        _inode = inode;
        Name = name;
    }

    /// <summary>The inode: page cache, size and seals, shared by every open file of it.</summary>
    public ShmemInode Inode => _inode;

    /// <summary>The file's pages (<c>inode->i_mapping</c>).</summary>
    public PageCache Cache => _inode.Cache;

    /// <summary><c>i_size</c>.</summary>
    public long Size => _inode.Size;

    /// <inheritdoc/>
    public override Seals? SealBits => _inode.SealBits;

    /// <summary><c>do_dentry_open</c> of the same inode with <paramref name="access"/> (FMODE_READ
    /// and/or FMODE_WRITE): a new open file with its own position and flags.</summary>
    public override KFile Reopen(FMode access)
    {
        _inode.Get();
        return new MemfdFile(_kernel, _inode, Name, access);
    }

    /// <inheritdoc/>
    public override string Name { get; }

    /// <summary>No <c>FMODE_ATOMIC_POS</c>: <c>memfd_create</c> makes its file with
    /// <c>alloc_file_pseudo</c>, so threads reading at the shared position race on it.</summary>
    internal override bool AtomicPos => false;

    /// <inheritdoc/>
    public override FileOps Ops =>
        FileOps.ReadIter | FileOps.WriteIter | FileOps.SpliceRead | FileOps.SpliceWrite | FileOps.Llseek;

    /// <summary>
    /// <c>shmem_file_read_iter</c>: copies from <paramref name="pos"/> up to the end of the file, page
    /// by page; a hole reads as zeros. A short copy ends the read: the bytes so far, or -EFAULT.
    /// </summary>
    public override unsafe long ReadIter(ref IovIter to, ref long pos, IocbFlags flags)
    {
        long done = 0;
        Page* run = stackalloc Page[PagesPerPass];
        while (to.Count != 0)
        {
            if (to.IsUserBacked && (pos & (PageSize - 1)) == 0 && to.Count >= 2 * PageSize)
            {
                int n = FindGetWholePages(pos, to.Count, new Span<Page>(run, PagesPerPass));
                if (n != 0)
                {
                    // The page-by-page copies of n whole cached pages, as one pass.
                    ulong bytes = (ulong)n * PageSize;
                    ulong moved = to.CopyPagesToIter(new PageVector(_kernel.Memory, run, n), bytes);
                    _kernel.Memory.PutPages(new ReadOnlySpan<Page>(run, n));
                    done += (long)moved;
                    pos += (long)moved;
                    if (moved < bytes) return done != 0 ? done : -Errno.EFAULT;
                    continue;
                }
            }
            Page page;
            ulong nr;
            Sched.Lock(_inode.SizeLock);
            lock (_inode.SizeLock)
            {
                long size = _inode.SizeUnderLock;
                if (pos >= size) break;
                nr = (ulong)Math.Min(PageSize - (pos & (PageSize - 1)), size - pos);
                page = Cache.FindGet(pos >> PageShift);
            }
            ulong want = Math.Min(nr, to.Count);
            ulong copied = page.IsNull ? to.Zero(nr) : to.CopyPageToIter(page, (ulong)(pos & (PageSize - 1)), nr);
            if (!page.IsNull) _kernel.Memory.Put(page);
            done += (long)copied;
            pos += (long)copied;
            if (copied < want) return done != 0 ? done : -Errno.EFAULT;
        }
        return done;
    }

    /// <summary>
    /// <c>generic_perform_write</c> through <c>shmem_write_begin/end</c>: page by page from
    /// <paramref name="pos"/>, creating pages as needed; a copy that stops at a fault keeps the bytes
    /// copied. shmem_write_end extends the size to pos + copied even when nothing was copied, and only
    /// then (since 6.x there is no fault-in before write_begin) does a copy that moved nothing fault the
    /// source in and try again: so a source that maps this very file past its old end becomes readable
    /// through the size the failed copy set. Returns the bytes written, or -EFAULT if none. Nothing to
    /// write is 0; at <see cref="MaxFileSize"/> it is -EFBIG, and short of it the write is cut to what
    /// fits (<c>generic_write_checks</c>, which also moves an appending write to the end first).
    /// </summary>
    public override long WriteIter(ref IovIter from, ref long pos, IocbFlags flags)
    {
        if (from.Count == 0) return 0;
        Sched.Lock(_inode.WriteLock);
        lock (_inode.WriteLock)
        {
            if ((flags & IocbFlags.Append) != 0) pos = Size;
            if (pos >= MaxFileSize) return -Errno.EFBIG;
            ulong room = (ulong)(MaxFileSize - pos), excess = from.Count > room ? from.Count - room : 0;
            from.Truncate(room);
            try { return PerformWrite(ref from, ref pos); }
            finally { from.Reexpand(from.Count + excess); }
        }
    }

    // Pages one pass of a read or a write copies at most: 256 KiB, so that the per-pass costs (the
    // size check, one walk of the iterator, the batch of references) are spread thin.
    private const int PagesPerPass = 64;

    // For a pass over whole pages from 'pos' (page aligned) of 'count' bytes: takes references on the
    // cached pages there, up to the first hole, the pass size and (for a read, under the size lock,
    // as each page's own look-up would check; for a write, holding WriteLock, so the size cannot
    // change) the size. Returns how many, none when fewer than two (the page-by-page path then
    // runs, which also handles holes and the size's last page).
    private int FindGetWholePages(long pos, ulong count, Span<Page> run)
    {
        Sched.Lock(_inode.SizeLock);
        lock (_inode.SizeLock)
        {
            long size = _inode.SizeUnderLock;
            if (pos >= size) return 0;
            long whole = Math.Min((long)(count / PageSize), Math.Min(run.Length, (size - pos) / PageSize));
            if (whole < 2) return 0;
            int n = Cache.FindGetRun(pos >> PageShift, run[..(int)whole]);
            if (n >= 2) return n;
            _kernel.Memory.PutPages(run[..n]);
            return 0;
        }
    }

    // shmem_write_end's folio_mark_dirty, after any copy into a page (written only when not yet dirty).
    private void MarkDirty(Page page)
    {
        if ((_kernel.Memory.Flags(page) & PageFlags.Dirty) == 0) _kernel.Memory.SetFlags(page, PageFlags.Dirty);
    }

    // generic_perform_write; the caller holds the inode's WriteLock.
    private unsafe long PerformWrite(ref IovIter from, ref long pos)
    {
        long done = 0;
        bool faultedIn = false;
        Page* run = stackalloc Page[PagesPerPass];
        while (from.Count != 0)
        {
            if (from.IsUserBacked && (pos & (PageSize - 1)) == 0 && from.Count >= 2 * PageSize && !_inode.WriteSealed)
            {
                // Whole pages inside the size that are cached already: nothing to create and no size
                // to change, so their page-by-page copies are one pass. Each page a copy reached is
                // dirtied, the one it stopped in too, as write_end does after any copy.
                int n = FindGetWholePages(pos, from.Count, new Span<Page>(run, PagesPerPass));
                if (n != 0)
                {
                    ulong want = (ulong)n * PageSize;
                    ulong moved = from.CopyFromIterToPages(new PageVector(_kernel.Memory, run, n), want);
                    int reached = moved == want ? n : (int)(moved / PageSize) + 1;
                    for (int i = 0; i < reached; i++) MarkDirty(run[i]);
                    _kernel.Memory.PutPages(new ReadOnlySpan<Page>(run, n));
                    done += (long)moved;
                    pos += (long)moved;
                    if (moved == want || moved % PageSize != 0) { faultedIn = false; continue; }
                    // The page where the copy stopped got nothing: fault_in_iov_iter_readable, then
                    // again (a page copied in between resets this, as it does page by page).
                    if (faultedIn && moved == 0) return done != 0 ? done : -Errno.EFAULT;
                    faultedIn = true;
                    continue;
                }
            }
            int offset = (int)(pos & (PageSize - 1));
            ulong bytes = Math.Min((ulong)(PageSize - offset), from.Count);
            // shmem_write_begin: sealed against writes, or against growing past i_size.
            if (_inode.WriteSealed || ((_inode.SealBits & Seals.Grow) != 0 && pos + (long)bytes > _inode.Size))
                return done != 0 ? done : -Errno.EPERM;
            Page page = Cache.FindOrCreate(pos >> PageShift);
            if (page.IsNull) return done != 0 ? done : -Errno.ENOMEM;
            ulong copied = from.CopyFromIter(_kernel.Memory.Pointer(page) + offset, bytes);
            MarkDirty(page);
            _kernel.Memory.Put(page);
            done += (long)copied;
            pos += (long)copied;
            if (pos > _inode.Size) _inode.SetSizeLocked(pos);
            if (copied == 0)
            {
                // fault_in_iov_iter_readable, then the loop tries again; a second empty copy
                // means the fault-in failed.
                if (faultedIn) return done != 0 ? done : -Errno.EFAULT;
                faultedIn = true;
                continue;
            }
            faultedIn = false;
        }
        return done;
    }

    /// <summary>
    /// <c>shmem_file_splice_read</c>: lends the pipe a reference to each page-cache page in turn (the
    /// zero page for a hole), one buffer per page, up to the end of the file and the pipe's free slots.
    /// On kernels with ITER_PIPE (4.9 to 6.4) it is <c>generic_file_splice_read</c> instead: the file's
    /// own read_iter runs on a PIPE iterator, whose copy_page_to_iter lends the same pages.
    /// The caller holds the pipe's lock and has checked for space. Returns the bytes spliced.
    /// </summary>
    public override long SpliceRead(ref long pos, Pipe pipe, ulong len)
    {
        if (_kernel.Config.IterPipe) return SpliceReadThroughIterPipe(ref pos, pipe, len);
        long done = 0;
        Sched.Lock(_inode.SizeLock);
        lock (_inode.SizeLock)
        {
            while (len != 0 && pos < _inode.SizeUnderLock && !pipe.IsFullLocked)
            {
                int offset = (int)(pos & (PageSize - 1));
                uint part = (uint)Math.Min((ulong)Math.Min(PageSize - offset, _inode.SizeUnderLock - pos), len);
                Page page = Cache.FindGet(pos >> PageShift);
                PipeBufferKind kind = PipeBufferKind.PageCache;
                if (page.IsNull)
                {
                    page = _kernel.ZeroPage;
                    _kernel.Memory.Get(page);
                    kind = PipeBufferKind.ZeroPage;
                }
                long r = pipe.AddLocked(new PipeBuffer(page, (uint)offset, part, kind));
                if (r < 0) return done != 0 ? done : r;
                done += part;
                pos += part;
                len -= part;
            }
        }
        return done;
    }

    // generic_file_splice_read (4.9-6.4): read_iter into an ITER_PIPE iterator at the pipe's end; on
    // an error, whatever was emitted is released and -EFAULT becomes -EAGAIN.
    private long SpliceReadThroughIterPipe(ref long pos, Pipe pipe, ulong len)
    {
        var to = IovIter.PipeOf(false, _kernel.Space, pipe, len);
        long at = pos;
        long r = ReadIter(ref to, ref at, IocbFlags.None);
        if (r > 0) { pos = at; return r; }
        ((IPipeRing)pipe).Truncate(to.PipeStartHead);
        return r == -Errno.EFAULT ? -Errno.EAGAIN : r;
    }

    /// <summary>
    /// <c>iter_file_splice_write</c>: wraps the pipe's buffers, in order, in a BVEC iterator, writes it
    /// at <paramref name="pos"/> through <see cref="WriteIter"/>, then consumes what was written.
    /// An empty pipe: 0 with no writers, -EAGAIN when non-blocking, else waits.
    /// </summary>
    public override long SpliceWrite(Pipe pipe, ref long pos, ulong len, bool nonBlock)
    {
        long spliced = 0;
        Sched.Lock(pipe.Lock);
        lock (pipe.Lock)
        {
            while (len != 0)
            {
                int ready = pipe.WaitForDataLocked(nonBlock, spliced != 0);
                if (ready <= 0) return spliced != 0 ? spliced : ready;
                int n = pipe.Occupancy;
                var bvec = new BioVec[n];
                ulong left = len;
                int used = 0;
                for (; used < n && left != 0; used++)
                {
                    ref PipeBuffer b = ref pipe.BufferLocked(used);
                    uint take = (uint)Math.Min(b.Len, left);
                    bvec[used] = new BioVec(b.Page, take, b.Offset);
                    left -= take;
                }
                var from = IovIter.Bvec(true, _kernel.Space, bvec, used, len - left);
                long wrote = WriteIter(ref from, ref pos, IocbFlags.None);
                if (wrote <= 0) return spliced != 0 ? spliced : wrote;
                pipe.ConsumeLocked((ulong)wrote);
                spliced += wrote;
                len -= (ulong)wrote;
            }
        }
        return spliced;
    }

    /// <summary>
    /// <c>shmem_setattr</c> for a new size: -EPERM when F_SEAL_SHRINK or F_SEAL_GROW forbids the
    /// change; growing leaves a hole; otherwise (the same size included) the pages past the end leave
    /// every mapping (private copies too when it shrank) and the page cache, and the tail of the last
    /// page is zeroed.
    /// </summary>
    public override int Truncate(long length)
    {
        Sched.Lock(_inode.WriteLock);
        lock (_inode.WriteLock)
        {
            long old = _inode.Size;
            Seals seals = _inode.SealBits;
            if ((length < old && (seals & Seals.Shrink) != 0) || (length > old && (seals & Seals.Grow) != 0)) return -Errno.EPERM;
            _inode.SetSizeLocked(length);
            if (length > old) return 0;
            // shmem_setattr truncates whenever the size does not grow, the same size included: pages
            // past the end (a failed write leaves one) go; private copies go too only when the size shrank.
            ulong holeBegin = ((ulong)length + PageSize - 1) & ~(ulong)(PageSize - 1); // as pgoff_t: no overflow
            _inode.ZeroTail(length);
            _inode.DropRange((long)(holeBegin >> PageShift), long.MaxValue, evenCows: (ulong)old > holeBegin);
        }
        return 0;
    }

    /// <summary>
    /// <c>shmem_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)</c> of whole pages [first, end),
    /// as MADV_REMOVE asks: -EPERM when writes are sealed; the pages leave every mapping (private
    /// copies stay) and the cache, and read back as zeros.
    /// </summary>
    public override int PunchHole(long first, long end)
    {
        Sched.Lock(_inode.WriteLock);
        lock (_inode.WriteLock)
        {
            if (_inode.WriteSealed) return -Errno.EPERM;
            _inode.DropRange(first, end, evenCows: false);
        }
        return 0;
    }

    /// <inheritdoc/>
    public override bool IsCached(long index) => _inode.IsCached(index);

    /// <inheritdoc/>
    public override bool Reclaim(long index, Page page, int otherRefs) => Cache.RemoveIfReclaimable(index, page, otherRefs);

    /// <summary><c>shmem_file_llseek</c>: SEEK_SET, SEEK_CUR and SEEK_END, -EINVAL for a
    /// negative result or another whence; SEEK_DATA and SEEK_HOLE through
    /// <see cref="SeekHoleData"/>.</summary>
    public override long Llseek(long offset, int whence)
    {
        if (whence is Seek.Data or Seek.Hole)
        {
            long found = SeekHoleData(offset, data: whence == Seek.Data);
            if (found >= 0) Pos = found;
            return found;
        }
        long basePos = whence switch { Seek.Set => 0, Seek.Cur => Pos, Seek.End => Size, _ => -1 };
        if (basePos < 0) return -Errno.EINVAL;
        long target = basePos + offset;
        if (target < 0 || (offset > 0 && target < basePos)) return -Errno.EINVAL;
        Pos = target;
        return target;
    }

    /// <summary>
    /// <c>mapping_seek_hole_data</c> under <c>i_rwsem</c>: from <paramref name="offset"/> to the end of
    /// the file, the first byte in a cached page (data) or in a missing one (a hole); the end of the
    /// file counts as a hole. -ENXIO from a negative offset, at or past the end, or when no data follows.
    /// </summary>
    private long SeekHoleData(long offset, bool data)
    {
        if (offset < 0) return -Errno.ENXIO;
        Sched.Lock(_inode.WriteLock);
        lock (_inode.WriteLock)
        {
            long end = Size;
            if (end <= offset) return -Errno.ENXIO;
            long index = offset >> PageShift, last = (end - 1) >> PageShift;
            foreach (long cached in Cache.Indices())
            {
                if (cached < index) continue;
                if (cached > last) break;
                if (cached == long.MaxValue >> PageShift)
                {
                    // The page below 2^63: the kernel rounds its end up to 2^63, which as an loff_t is
                    // negative, so SEEK_DATA never finds it and SEEK_HOLE in it returns LLONG_MIN.
                    if (data) continue;
                    if (cached == index) return long.MinValue;
                    break;
                }
                if (data) return Math.Max(offset, cached << PageShift);
                if (cached != index) break; // a missing page before this one: the hole starts there
                index++;
            }
            if (data) return -Errno.ENXIO;
            return Math.Min(Math.Max(offset, index << PageShift), end);
        }
    }

    /// <summary>Drops this file's reference on the inode; the last one frees the pages.</summary>
    protected override void Release() => _inode.Put();

    /// <inheritdoc/>
    public override bool HasMmap => true;

    /// <summary><c>shmem_fault</c>: the page at <paramref name="index"/>, created if it is a hole,
    /// or null past the end of the file (SIGBUS): <c>index &lt;&lt; PAGE_SHIFT &gt;= i_size</c>, as
    /// shmem_get_folio_gfp compares, which cannot overflow as rounding i_size up to pages would
    /// for a size near MAX_LFS_FILESIZE.</summary>
    public override Page Fault(long index)
    {
        Sched.Lock(_inode.SizeLock);
        lock (_inode.SizeLock)
            return index << PageShift >= _inode.SizeUnderLock ? Page.Null : Cache.FindOrCreate(index);
    }

    /// <summary>True while <paramref name="page"/> is still cached at <paramref name="index"/>.</summary>
    public override bool IsCurrent(long index, Page page) => Cache.Find(index) == page;

    /// <summary>Records the mapping in the reverse map used by truncation, and holds the file.</summary>
    public override void OnMap(AddressSpace mm, Vma vma)
    {
        Get();
        _inode.AddMapping(mm, vma);
    }

    /// <summary>Forgets the mapping and drops its hold on the file.</summary>
    public override void OnUnmap(AddressSpace mm, Vma vma)
    {
        _inode.RemoveMapping(mm, vma);
        Put();
    }
}
