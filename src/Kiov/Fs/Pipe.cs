using Kiov.Concurrency;
using Kiov.Iov;
using Kiov.Memory;
using static Kiov.Memory.PageGeometry;
using Kiov.Uaccess;

namespace Kiov.Fs;

/// <summary>
/// A pipe (<c>struct pipe_inode_info</c>, fs/pipe.c): a power-of-two ring of page buffers with
/// free-running head and tail, <c>max_usage</c> usable slots (16 by default: 64 KiB), and
/// reader/writer counts. Everything is guarded by <see cref="Lock"/> (<c>pipe->mutex</c>), which
/// is taken before any mmap lock: a copy under it may fault.
/// </summary>
public sealed unsafe class Pipe : IPipeRing
{
    /// <summary><c>PIPE_DEF_BUFFERS</c>.</summary>
    public const int DefaultBuffers = 16;
    /// <summary><c>PIPE_BUF</c>: writes up to this size are atomic.</summary>
    public const int PipeBuf = PageSize;
    /// <summary><c>PIPE_MIN_DEF_BUFFERS</c>: the slots a new pipe gets once its user is past the soft limit.</summary>
    public const int MinDefaultBuffers = 2;
    /// <summary>The most slots one ring array may have: <c>KMALLOC_MAX_SIZE</c> (4 MiB) over the
    /// 40 bytes of a <c>struct pipe_buffer</c>; a larger F_SETPIPE_SZ fails with -ENOMEM.</summary>
    public const int MaxRingSlots = (4 << 20) / 40;

    private PipeBuffer[] _bufs = new PipeBuffer[DefaultBuffers];  // guarded by Lock
    private uint _head, _tail;                                    // guarded by Lock
    private int _maxUsage = DefaultBuffers;                       // guarded by Lock
    private int _readers, _writers;                               // guarded by Lock
    private Page _tmpPage0, _tmpPage1;                            // guarded by Lock: pipe->tmp_page[2]
    private int _accounted = DefaultBuffers;                      // nr_accounted, guarded by Lock
    private readonly HostLimits _limits;
    private readonly PipeUserAccount _user;

    private static long s_lastId;

    internal Pipe(PhysicalMemory memory, HostLimits? limits = null, PipeUserAccount? user = null)
    {
        Memory = memory;
        Id = Interlocked.Increment(ref s_lastId);
        _limits = limits ?? new HostLimits();
        _user = user ?? new PipeUserAccount();
    }

    private bool Unprivileged => !_limits.CapSysResource && !_limits.CapSysAdmin;

    /// <summary>A number no other pipe has: the order in which <c>pipe_double_lock</c> takes two
    /// pipes' locks (the kernel compares their addresses).</summary>
    internal long Id { get; }

    /// <summary>Physical memory the buffers' pages come from.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary><c>pipe->mutex</c>.</summary>
    public object Lock { get; } = new();

    /// <summary><c>pipe_occupancy</c>: slots in use.</summary>
    public int Occupancy { get { Sched.Lock(Lock); lock (Lock) return (int)(_head - _tail); } }

    /// <summary>Usable slots (<c>max_usage</c>).</summary>
    public int MaxUsage { get { Sched.Lock(Lock); lock (Lock) return _maxUsage; } }

    /// <summary>Bytes waiting in the pipe (<c>FIONREAD</c>).</summary>
    public long Bytes
    {
        get
        {
            Sched.Lock(Lock);
            lock (Lock)
            {
                long n = 0;
                for (uint t = _tail; t != _head; t++) n += _bufs[t & Mask].Len;
                return n;
            }
        }
    }

    /// <summary>Copies of the buffers in order, for tests and tools.</summary>
    public PipeBuffer[] Buffers()
    {
        Sched.Lock(Lock);
        lock (Lock)
        {
            var list = new PipeBuffer[_head - _tail];
            for (uint t = _tail, i = 0; t != _head; t++, i++) list[i] = _bufs[t & Mask];
            return list;
        }
    }

    private uint Mask => (uint)_bufs.Length - 1;
    internal bool IsEmptyLocked => _head == _tail;
    internal bool IsFullLocked => _head - _tail >= (uint)_maxUsage;
    internal int ReadersLocked => _readers;
    internal int WritersLocked => _writers;
    internal int FreeSlotsLocked => _maxUsage - (int)(_head - _tail);
    internal ref PipeBuffer TailLocked => ref _bufs[_tail & Mask];
    internal ref PipeBuffer BufferLocked(int i) => ref _bufs[(_tail + (uint)i) & Mask];

    /// <summary>Creates a pipe and its two open ends (<c>alloc_pipe_info</c> + <c>create_pipe_files</c>):
    /// 16 slots, or 2 once an unprivileged user holds more than pipe-user-pages-soft pages of pipes.</summary>
    public static (PipeFile read, PipeFile write) Create(PhysicalMemory memory, bool nonBlock, HostLimits? limits = null, PipeUserAccount? user = null)
    {
        var pipe = new Pipe(memory, limits, user) { _readers = 1, _writers = 1 };
        ulong userBufs = pipe._user.Account(DefaultBuffers);
        if (pipe._limits.PipeUserPagesSoft != 0 && userBufs > pipe._limits.PipeUserPagesSoft && pipe.Unprivileged)
        {
            pipe._user.Account(MinDefaultBuffers - DefaultBuffers);
            pipe._bufs = new PipeBuffer[MinDefaultBuffers];
            pipe._maxUsage = pipe._accounted = MinDefaultBuffers;
        }
        return (new PipeFile(pipe, FMode.Read | FMode.CanRead | FMode.NoWait) { NonBlock = nonBlock },
                new PipeFile(pipe, FMode.Write | FMode.CanWrite | FMode.NoWait) { NonBlock = nonBlock });
    }

    /// <summary>
    /// <c>pipe_read</c>: copies whole buffers (or the part the reader asked for) into <paramref name="to"/>.
    /// A copy that comes back short ends the read without consuming that buffer: -EFAULT if nothing was
    /// read, else the bytes read. An empty pipe gives 0 with no writers, -EAGAIN when non-blocking,
    /// and otherwise waits.
    /// </summary>
    public long Read(ref IovIter to, bool nonBlock)
    {
        ulong total = to.Count;
        if (total == 0) return 0;
        long ret = 0;
        var freed = new FreedPages(stackalloc Page[FreedPages.Batch]);
        Sched.Lock(Lock);
        lock (Lock)
        {
            while (true)
            {
                int whole = !IsEmptyLocked && to.IsUserBacked ? WholeAnonPagesLocked(total) : 0;
                if (whole >= 2)
                {
                    // Several whole pages at the front: the page-by-page copies as one pass.
                    ulong moved = ReadWholePagesLocked(ref to, whole, ref freed, out bool shortCopy);
                    ret += (long)moved;
                    total -= moved;
                    if (shortCopy)
                    {
                        if (ret == 0) ret = -Errno.EFAULT;
                        break;
                    }
                    if (total == 0) break;
                    if (!IsEmptyLocked) continue;
                }
                else if (!IsEmptyLocked)
                {
                    ref PipeBuffer buf = ref TailLocked;
                    uint chars = (uint)Math.Min(buf.Len, total);
                    ulong written = to.CopyToIter(Memory.Pointer(buf.Page) + buf.Offset, chars);
                    if (written < chars)
                    {
                        if (ret == 0) ret = -Errno.EFAULT;
                        break;
                    }
                    ret += chars;
                    buf = buf with { Offset = buf.Offset + chars, Len = buf.Len - chars };
                    if (buf.Len == 0) ReleaseTailLocked(ref freed);
                    total -= chars;
                    if (total == 0) break;
                    if (!IsEmptyLocked) continue;
                }
                if (_writers == 0 || ret != 0) break;
                if (nonBlock) { ret = -Errno.EAGAIN; break; }
                freed.Flush(Memory);
                Sched.Wait(Lock);
            }
            freed.Flush(Memory);
            Sched.PulseAll(Lock);
        }
        return ret;
    }

    /// <summary>
    /// <c>pipe_write</c>: first merges the write's sub-page head (<c>len % PAGE_SIZE</c>) into the last
    /// buffer when that is an anonymous buffer with room; then fills fresh pages, each inserted in the
    /// ring once filled. A copy that faults inside a page commits nothing of that page: -EFAULT
    /// if nothing was written, else the bytes written. No readers: -EPIPE.
    /// A full ring: -EAGAIN when non-blocking (or the bytes so far), otherwise waits.
    /// </summary>
    public long Write(ref IovIter from, bool nonBlock)
    {
        ulong total = from.Count;
        if (total == 0) return 0;
        long ret = 0;
        // Fresh pages are taken from the allocator a batch at a time (the frames that page-by-page
        // allocation would give, in the order they were freed, so that the pages a read let go come
        // back as runs of consecutive frames; something else allocating meanwhile, such as a fault
        // of the source during the copy, can change them: frame numbers are no contract, in the
        // kernel neither); any left unused go back before the lock is.
        var fresh = new FreshPages(stackalloc Page[FreshPages.Batch]);
        Sched.Lock(Lock);
        lock (Lock)
        {
            try
            {
                if (_readers == 0) return -Errno.EPIPE;
                uint chars = (uint)(total & (PageSize - 1));
                if (chars != 0 && !IsEmptyLocked)
                {
                    ref PipeBuffer last = ref _bufs[(_head - 1) & Mask];
                    uint offset = last.Offset + last.Len;
                    if (last.CanMerge && offset + chars <= PageSize)
                    {
                        ulong copied = from.CopyFromIter(Memory.Pointer(last.Page) + offset, chars);
                        if (copied < chars) return -Errno.EFAULT;
                        last = last with { Len = last.Len + chars };
                        ret = chars;
                        if (from.Count == 0) return ret;
                    }
                }
                while (true)
                {
                    if (_readers == 0) return ret != 0 ? ret : -Errno.EPIPE;
                    if (!IsFullLocked && from.IsUserBacked && _tmpPage0.IsNull && _tmpPage1.IsNull)
                    {
                        // No spare left: fill the fresh pages of the batch in one pass.
                        long r = WriteFreshPagesLocked(ref from, ref fresh, ref ret);
                        if (r != 0 || from.Count == 0) return r != 0 ? r : ret;
                    }
                    else if (!IsFullLocked)
                    {
                        // anon_pipe_write (6.15 on): fill the page first, insert it only if the copy
                        // did not fault; older kernels inserted it empty first and left it behind.
                        Page page = GetPageLocked(ref fresh, from.Count);
                        if (page.IsNull) return ret != 0 ? ret : -Errno.ENOMEM;
                        ulong copied = from.CopyFromIter(Memory.Pointer(page), PageSize);
                        if (copied < PageSize && from.Count != 0)
                        {
                            fresh.ReturnUnused(Memory); // never taken, page by page: back first
                            PutPageLocked(page);
                            return ret != 0 ? ret : -Errno.EFAULT;
                        }
                        _bufs[_head & Mask] = new PipeBuffer(page, 0, (uint)copied, PipeBufferKind.Anon, CanMerge: true);
                        _head++;
                        ret += (long)copied;
                        if (from.Count == 0) return ret;
                    }
                    if (!IsFullLocked) continue;
                    if (nonBlock) return ret != 0 ? ret : -Errno.EAGAIN;
                    // Wake the readers before sleeping: the ring this writer filled is what they wait for.
                    Sched.PulseAll(Lock);
                    Sched.Wait(Lock);
                }
            }
            finally
            {
                fresh.ReturnUnused(Memory);
                Sched.PulseAll(Lock);
            }
        }
    }

    /// <summary>In debug builds, throws <see cref="KiovBugException"/> unless the calling thread holds
    /// <see cref="Lock"/> (<c>lockdep_assert_held(&amp;pipe->mutex)</c>): every <c>…Locked</c> member needs it.</summary>
    [System.Diagnostics.Conditional("DEBUG")]
    internal void AssertLocked()
    {
        if (!Monitor.IsEntered(Lock)) ThrowHelper.Bug("pipe->mutex is not held by this thread");
    }

    /// <summary>
    /// <c>add_to_pipe</c>: appends a buffer the caller has a page reference for. On failure the
    /// reference is dropped: -EPIPE with no readers, -EAGAIN when the ring is full. Returns the length.
    /// Caller holds <see cref="Lock"/>.
    /// </summary>
    internal long AddLocked(in PipeBuffer buf)
    {
        AssertLocked();
        if (_readers == 0) { Memory.Put(buf.Page); return -Errno.EPIPE; }
        if (IsFullLocked) { Memory.Put(buf.Page); return -Errno.EAGAIN; }
        _bufs[_head & Mask] = buf;
        _head++;
        Sched.PulseAll(Lock);
        return buf.Len;
    }

    /// <summary><c>wait_for_space</c>: 0 when a slot is free, -EPIPE with no readers, -EAGAIN when full
    /// and non-blocking; otherwise waits. Caller holds <see cref="Lock"/>.</summary>
    internal int WaitForSpaceLocked(bool nonBlock)
    {
        AssertLocked();
        while (true)
        {
            if (_readers == 0) return -Errno.EPIPE;
            if (!IsFullLocked) return 0;
            if (nonBlock) return -Errno.EAGAIN;
            Sched.Wait(Lock);
        }
    }

    /// <summary><c>splice_from_pipe_next</c>: 1 when there is data, 0 at end of file (no writers, or
    /// something already moved), -EAGAIN when empty and non-blocking; otherwise waits.
    /// Caller holds <see cref="Lock"/>.</summary>
    internal int WaitForDataLocked(bool nonBlock, bool movedSome)
    {
        AssertLocked();
        while (IsEmptyLocked)
        {
            if (_writers == 0 || movedSome) return 0;
            if (nonBlock) return -Errno.EAGAIN;
            Sched.Wait(Lock);
        }
        return 1;
    }

    /// <summary>Consumes <paramref name="bytes"/> from the front of the ring, releasing emptied
    /// buffers (what splice does after its actor ran). Caller holds <see cref="Lock"/>.</summary>
    internal void ConsumeLocked(ulong bytes)
    {
        AssertLocked();
        while (bytes != 0)
        {
            ref PipeBuffer buf = ref TailLocked;
            if (bytes >= buf.Len) { bytes -= buf.Len; ReleaseTailLocked(); }
            else { buf = buf with { Offset = buf.Offset + (uint)bytes, Len = buf.Len - (uint)bytes }; bytes = 0; }
        }
        Sched.PulseAll(Lock);
    }

    // pipe_buf_release + tail++: every kind holds one page reference; an anonymous buffer's page
    // goes back to the pipe's spares (anon_pipe_buf_release), the others' to their owners.
    internal void ReleaseTailLocked()
    {
        AssertLocked();
        ref PipeBuffer buf = ref TailLocked;
        PipeBuffer old = buf;
        buf = default;
        _tail++;
        if (old.Kind == PipeBufferKind.Anon) PutPageLocked(old.Page);
        else Memory.Put(old.Page);
    }

    // How many buffers at the front (at most a batch) are whole anonymous pages that a read of
    // 'total' bytes takes entirely.
    private int WholeAnonPagesLocked(ulong total)
    {
        int n = 0, limit = (int)Math.Min((ulong)FreedPages.Batch, total / PageSize);
        for (; n < limit && _tail + (uint)n != _head; n++)
        {
            ref PipeBuffer b = ref BufferLocked(n);
            if (b.Kind != PipeBufferKind.Anon || b.Offset != 0 || b.Len != PageSize) break;
        }
        return n;
    }

    // pipe_read's loop over 'count' whole-page buffers at the front as one copy: each buffer copied
    // entirely is consumed; where the copy stops short, that buffer stays, as it would after its own
    // short copy_page_to_iter (and the read ends: 'shortCopy'). Returns the bytes consumed.
    private unsafe ulong ReadWholePagesLocked(ref IovIter to, int count, ref FreedPages freed, out bool shortCopy)
    {
        Page* pages = stackalloc Page[FreedPages.Batch];
        for (int i = 0; i < count; i++) pages[i] = BufferLocked(i).Page;
        ulong want = (ulong)count * PageSize;
        ulong copied = to.CopyPagesToIter(new PageVector(Memory, pages, count), want);
        int whole = (int)(copied / PageSize);
        for (int i = 0; i < whole; i++)
        {
            TailLocked = TailLocked with { Offset = PageSize, Len = 0 };
            ReleaseTailLocked(ref freed);
        }
        shortCopy = copied < want;
        return (ulong)whole * PageSize;
    }

    // anon_pipe_write's loop over fresh pages (no spare left) as one copy into the next pages of
    // the batch: each page filled is inserted, and the last one with what the write had left;
    // where the copy stops short inside a page, that page is dropped and the rest of the batch goes
    // back unused, as after its own short copy_page_from_iter. Returns 0 to go on, or the result.
    private unsafe long WriteFreshPagesLocked(ref IovIter from, ref FreshPages fresh, ref long ret)
    {
        ulong pagesLeft = (from.Count + PageSize - 1) / PageSize;
        Span<Page> batch = fresh.Peek(Memory, (int)Math.Min(pagesLeft, (ulong)FreeSlotsLocked));
        if (batch.IsEmpty) return ret != 0 ? ret : -Errno.ENOMEM;
        ulong want = Math.Min(from.Count, (ulong)batch.Length * PageSize);
        ulong copied;
        fixed (Page* pages = batch) copied = from.CopyFromIterToPages(new PageVector(Memory, pages, batch.Length), want);
        int whole = (int)(copied / PageSize);
        for (int i = 0; i < whole; i++) InsertFreshLocked(batch[i], PageSize);
        ret += (long)whole * PageSize;
        if (copied < want)
        {
            Page failed = batch[whole];
            fresh.Consume(whole + 1);
            fresh.ReturnUnused(Memory); // never taken, page by page: back first
            PutPageLocked(failed);
            return ret != 0 ? ret : -Errno.EFAULT;
        }
        uint rest = (uint)(copied % PageSize);
        if (rest != 0)
        {
            InsertFreshLocked(batch[whole++], rest);
            ret += rest;
        }
        fresh.Consume(whole);
        return 0;
    }

    private void InsertFreshLocked(Page page, uint len)
    {
        _bufs[_head & Mask] = new PipeBuffer(page, 0, len, PipeBufferKind.Anon, CanMerge: true);
        _head++;
    }

    // ReleaseTailLocked for pipe_read: a page that only this buffer holds and that is not kept as a
    // spare is freed with the next batch (release_pages), not one trip through the allocator per
    // buffer; nobody else can see it meanwhile (an anonymous pipe page is never mapped, so no
    // lockless walker can find it, and a reference is taken only from one already held), so its
    // count needs no locked instruction to reach zero. Every other page is released at once.
    private void ReleaseTailLocked(ref FreedPages freed)
    {
        ref PipeBuffer buf = ref TailLocked;
        Page page = buf.Page;
        if (buf.Kind != PipeBufferKind.Anon || Memory.RefCount(page) != 1 || _tmpPage0.IsNull || _tmpPage1.IsNull)
        {
            freed.Flush(Memory); // the frees in the order the buffers went
            ReleaseTailLocked();
            return;
        }
        buf = default;
        _tail++;
        freed.Add(Memory, page);
    }

    // Pages freed by one pipe_read, a batch at a time.
    private ref struct FreedPages(Span<Page> slots)
    {
        public const int Batch = 64;
        private readonly Span<Page> _slots = slots;
        private int _count;

        public void Add(PhysicalMemory memory, Page page)
        {
            if (_count == _slots.Length) Flush(memory);
            _slots[_count++] = page;
        }

        public void Flush(PhysicalMemory memory)
        {
            if (_count == 0) return;
            memory.FreeSoleHeld(_slots[.._count]);
            _count = 0;
        }
    }

    // anon_pipe_get_page: a spare page kept from an earlier buffer (tmp_page[]), else a new one
    // (from the batch, which is refilled for at most the pages the rest of the write can fill).
    private Page GetPageLocked(ref FreshPages fresh, ulong bytesLeft)
    {
        Page page;
        if (!_tmpPage0.IsNull) (page, _tmpPage0) = (_tmpPage0, Page.Null);
        else if (!_tmpPage1.IsNull) (page, _tmpPage1) = (_tmpPage1, Page.Null);
        else
        {
            ulong pagesLeft = (bytesLeft + PageSize - 1) / PageSize;
            page = fresh.Next(Memory, (int)Math.Min(pagesLeft, (ulong)FreeSlotsLocked));
        }
        return page;
    }

    // Frames for one pipe_write, allocated a batch at a time (alloc_pages_bulk): one trip through
    // the allocator's lock per batch instead of one per page.
    private ref struct FreshPages(Span<Page> slots)
    {
        public const int Batch = 64;
        private readonly Span<Page> _slots = slots;
        private int _next, _count;

        // The next frame, refilling the batch with at most 'wanted' frames; Null when memory is out.
        public Page Next(PhysicalMemory memory, int wanted)
        {
            Span<Page> ready = Peek(memory, wanted);
            if (ready.IsEmpty) return Page.Null;
            Consume(1);
            return ready[0];
        }

        // The frames of the batch not handed out yet, at most 'wanted', refilling an empty batch
        // with at most 'wanted'; they are handed out by Consume. Empty when memory is out.
        public Span<Page> Peek(PhysicalMemory memory, int wanted)
        {
            if (_next == _count)
            {
                _next = 0;
                _count = memory.AllocBulk(PageOwner.Pipe, _slots[..Math.Clamp(wanted, 1, _slots.Length)]);
            }
            return _slots[_next..Math.Min(_count, _next + Math.Max(wanted, 1))];
        }

        public void Consume(int n) => _next += n;

        // Gives back the frames never handed out, as if they had never been allocated.
        public void ReturnUnused(PhysicalMemory memory)
        {
            if (_next == _count) return;
            memory.FreeUnused(_slots[_next.._count]);
            _next = _count = 0;
        }
    }

    // anon_pipe_put_page: a page nobody else holds is kept as a spare while a slot is free.
    private void PutPageLocked(Page page)
    {
        if (Memory.RefCount(page) == 1)
        {
            if (_tmpPage0.IsNull) { _tmpPage0 = page; return; }
            if (_tmpPage1.IsNull) { _tmpPage1 = page; return; }
        }
        Memory.Put(page);
    }

    // IPipeRing: what an ITER_PIPE iterator (2016-2023 splice reads) sees; the caller holds Lock.
    uint IPipeRing.Head => _head;
    uint IPipeRing.Tail => _tail;
    uint IPipeRing.MaxUsage => (uint)_maxUsage;
    PipeBuffer IPipeRing.this[uint index] => _bufs[index & Mask];
    void IPipeRing.Push(in PipeBuffer buffer) { _bufs[_head & Mask] = buffer; _head++; }
    void IPipeRing.SetLength(uint index, uint len) => _bufs[index & Mask] = _bufs[index & Mask] with { Len = len };
    void IPipeRing.Truncate(uint head)
    {
        while (_head != head)
        {
            _head--;
            Page page = _bufs[_head & Mask].Page;
            _bufs[_head & Mask] = default;
            Memory.Put(page);
        }
    }

    /// <summary>
    /// <c>pipe_set_size</c> (F_SETPIPE_SZ): rounds <paramref name="size"/> up to a power-of-two number
    /// of pages; -EINVAL for nothing (above 2^31); growing past pipe-max-size needs CAP_SYS_RESOURCE
    /// (-EPERM), and past pipe-user-pages-hard an unprivileged user gets -EPERM; -EBUSY when the
    /// buffers in use do not fit; -ENOMEM when the ring array would pass KMALLOC_MAX_SIZE. Returns
    /// the new size in bytes. The size is an unsigned int, as <c>pipe_fcntl</c> takes it: fcntl's
    /// upper 32 bits never arrive.
    /// </summary>
    public long SetSize(uint size)
    {
        if (size > 1U << 31) return -Errno.EINVAL;
        ulong rounded = size < PageSize ? PageSize : System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)size);
        int slots = (int)(rounded >> PageShift);
        Sched.Lock(Lock);
        lock (Lock)
        {
            if (slots > _maxUsage && rounded > _limits.PipeMaxSize && !_limits.CapSysResource) return -Errno.EPERM;
            ulong userBufs = _user.Account(slots - _accounted);
            if (slots > _accounted && _limits.PipeUserPagesHard != 0 && userBufs > _limits.PipeUserPagesHard && Unprivileged)
            {
                _user.Account(_accounted - slots);
                return -Errno.EPERM;
            }
            int busy = slots < (int)(_head - _tail) ? -Errno.EBUSY : slots > MaxRingSlots ? -Errno.ENOMEM : 0;
            if (busy != 0)
            {
                _user.Account(_accounted - slots);
                return busy;
            }
            _accounted = slots;
            var bufs = new PipeBuffer[slots];
            uint n = 0;
            for (uint t = _tail; t != _head; t++) bufs[n++] = _bufs[t & Mask];
            _bufs = bufs;
            _tail = 0;
            _head = n;
            _maxUsage = slots;
            Sched.PulseAll(Lock);
            return (long)slots * PageSize;
        }
    }

    /// <summary><c>pipe_release</c> for one end (a read-write end counts as both); the last end frees
    /// every buffer and gives the slots back to the user's account (<c>free_pipe_info</c>).</summary>
    internal void ReleaseEnd(FMode mode)
    {
        Sched.Lock(Lock);
        lock (Lock)
        {
            if ((mode & FMode.Read) != 0) _readers--;
            if ((mode & FMode.Write) != 0) _writers--;
            Sched.PulseAll(Lock);
            if (_readers != 0 || _writers != 0) return;
            while (!IsEmptyLocked) ReleaseTailLocked();
            // free_pipe_info: the spares go too.
            if (!_tmpPage0.IsNull) Memory.Put(_tmpPage0);
            if (!_tmpPage1.IsNull) Memory.Put(_tmpPage1);
            _tmpPage0 = _tmpPage1 = Page.Null;
            _user.Account(-_accounted);
        }
    }

    /// <summary><c>fifo_open</c> of the pipe's inode (reached through /proc/self/fd): counts a new
    /// reader and/or writer. An anonymous pipe lives on pipefs, so the open never waits for a partner.</summary>
    internal void OpenEnd(FMode mode)
    {
        Sched.Lock(Lock);
        lock (Lock)
        {
            if ((mode & FMode.Read) != 0) _readers++;
            if ((mode & FMode.Write) != 0) _writers++;
            Sched.PulseAll(Lock);
        }
    }
}

/// <summary>One end of a pipe (the <c>struct file</c> with <c>pipefifo_fops</c>): a stream, so
/// positioned I/O gives -ESPIPE.</summary>
public sealed class PipeFile : KFile
{
    internal PipeFile(Pipe pipe, FMode mode) : base(mode) => Pipe = pipe;

    /// <summary>The pipe.</summary>
    public Pipe Pipe { get; }

    /// <inheritdoc/>
    public override Pipe? PipeInfo => Pipe;

    /// <inheritdoc/>
    public override FileOps Ops => FileOps.ReadIter | FileOps.WriteIter;

    /// <inheritdoc/>
    public override string Name => (Mode & (FMode.Read | FMode.Write)) switch
    {
        FMode.Read => "pipe:[read]",
        FMode.Write => "pipe:[write]",
        _ => "pipe:[read-write]",
    };

    /// <inheritdoc/>
    public override long ReadIter(ref IovIter to, ref long pos, IocbFlags flags) =>
        Pipe.Read(ref to, NonBlock || (flags & IocbFlags.NoWait) != 0);

    /// <inheritdoc/>
    public override long WriteIter(ref IovIter from, ref long pos, IocbFlags flags) =>
        Pipe.Write(ref from, NonBlock || (flags & IocbFlags.NoWait) != 0);

    /// <inheritdoc/>
    protected override void Release() => Pipe.ReleaseEnd(Mode);

    /// <summary><c>fifo_open</c>: a new end of the same pipe with <paramref name="access"/>; it is a
    /// stream and, unlike the ends <c>pipe2</c> made, not FMODE_NOWAIT (RWF_NOWAIT is EOPNOTSUPP).</summary>
    public override KFile Reopen(FMode access)
    {
        Pipe.OpenEnd(access);
        FMode mode = access | ((access & FMode.Read) != 0 ? FMode.CanRead : 0) | ((access & FMode.Write) != 0 ? FMode.CanWrite : 0);
        return new PipeFile(Pipe, mode);
    }
}

/// <summary>A user's count of pipe slots (<c>user_struct.pipe_bufs</c>), which the soft and hard
/// limits of <see cref="HostLimits"/> are checked against. Thread-safe.</summary>
public sealed class PipeUserAccount
{
    private long _pages;

    /// <summary><c>account_pipe_buffers</c>: adds <paramref name="delta"/> slots and returns the new total.</summary>
    public ulong Account(long delta) => (ulong)Interlocked.Add(ref _pages, delta);
}
