using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

// ITER_PIPE (4.9 to 6.4, modelled on the 5.5+ head/tail ring). The position is (_pipeHead, _iovOffset):
// an offset of 0 means the next byte starts a new buffer at _pipeHead; otherwise it is the end offset of
// the data inside buffer _pipeHead, which must be the pipe's last buffer (the iterator is the pipe's only
// writer while it lives).
public partial struct IovIter
{
    private readonly bool PipeFull(uint head) => head - _pipe!.Tail >= _pipe.MaxUsage;

    // PIPE_PARANOIA's sanity(): the iterator sits exactly at the end of the pipe.
    internal readonly bool PipeSane()
    {
        IPipeRing pipe = _pipe!;
        if (_iovOffset == 0) return _pipeHead == pipe.Head;
        if (pipe.Head == pipe.Tail || _pipeHead != pipe.Head - 1) return false;
        PipeBuffer b = pipe[_pipeHead];
        return b.Offset + b.Len == _iovOffset;
    }

    // data_start(): where new data goes: the end of the last buffer if it is the pipe's own page and not
    // full, else the start of the next slot.
    internal readonly void PipeDataStart(out uint head, out ulong off)
    {
        head = _pipeHead;
        off = _iovOffset;
        if (off != 0 && (_pipe![head].Kind != PipeBufferKind.Anon || off == PageSize)) { head++; off = 0; }
    }

    // push_pipe(): reserves up to size bytes (clamped to the count) at the pipe's end, growing the last
    // anonymous buffer and then allocating one fresh page per free slot; returns the bytes reserved and
    // where they start. Short when the ring fills or memory runs out.
    private readonly ulong PushPipe(ulong size, out uint head, out ulong off)
    {
        if (size > _count) size = _count;
        PipeDataStart(out head, out off);
        if (size == 0) return 0;
        IPipeRing pipe = _pipe!;
        ulong left = size;
        uint h = head;
        if (off != 0)
        {
            ulong room = PageSize - off;
            if (left <= room) { pipe.SetLength(h, pipe[h].Len + (uint)left); return size; }
            pipe.SetLength(h, PageSize - pipe[h].Offset);
            left -= room;
            h++;
        }
        PhysicalMemory mem = _kernel!.Memory;
        while (!PipeFull(h))
        {
            Page page = mem.Alloc(PageOwner.Pipe, zero: false);
            if (page.IsNull) break;
            uint len = (uint)Math.Min(left, PageSize);
            pipe.Push(new PipeBuffer(page, 0, len, PipeBufferKind.Anon));
            left -= len;
            h++;
            if (left == 0) return size;
        }
        return size - left;
    }

    // pipe_truncate(): trims the buffer the position is in to the position and releases every buffer after it.
    private readonly void PipeTruncate()
    {
        IPipeRing pipe = _pipe!;
        if (pipe.Head == pipe.Tail) return;
        uint head = _pipeHead;
        if (_iovOffset != 0)
        {
            pipe.SetLength(head, (uint)_iovOffset - pipe[head].Offset);
            head++;
        }
        if (head != pipe.Head) pipe.Truncate(head);
    }

    // pipe_advance(): moves over buffers already in the pipe (reserved by get_pages), then drops the rest.
    private void PipeAdvance(ulong size)
    {
        if (size > _count) size = _count;
        IPipeRing pipe = _pipe!;
        if (size != 0)
        {
            uint head = _pipeHead;
            ulong left = size;
            if (_iovOffset != 0) left += _iovOffset - pipe[head].Offset;
            while (true)
            {
                if (head == pipe.Head) throw new KiovBugException("iov_iter_advance on ITER_PIPE past the buffers reserved");
                PipeBuffer b = pipe[head];
                if (left <= b.Len) { _iovOffset = b.Offset + left; break; }
                left -= b.Len;
                head++;
            }
            _pipeHead = head;
        }
        _count -= size;
        PipeTruncate();
    }

    // iov_iter_revert() on a pipe: walks back over buffers, never before where the iterator started,
    // then drops what lies after the new position. The count was already raised by the caller.
    private void PipeRevert(ulong unroll)
    {
        IPipeRing pipe = _pipe!;
        uint head = _pipeHead;
        ulong off = _iovOffset;
        while (true)
        {
            ulong n = off == 0 ? 0 : off - pipe[head].Offset;
            if (unroll < n) { off -= unroll; break; }
            unroll -= n;
            if (unroll == 0 && head == _pipeStartHead) { off = 0; break; }
            if (head == _pipeStartHead) throw new KiovBugException("iov_iter_revert on ITER_PIPE before its start");
            head--;
            PipeBuffer b = pipe[head];
            off = b.Offset + b.Len;
        }
        _iovOffset = off;
        _pipeHead = head;
        PipeTruncate();
    }

    // copy_page_to_iter_pipe(): no copy: the page itself joins the pipe with a new reference, or the last
    // buffer grows when it is the same page and the data continues it.
    private ulong CopyPageToPipe(Page page, ulong offset, ulong bytes)
    {
        if (bytes > _count) bytes = _count;
        if (bytes == 0 || !PipeSane()) return 0;
        IPipeRing pipe = _pipe!;
        uint head = _pipeHead;
        if (_iovOffset != 0)
        {
            PipeBuffer last = pipe[head];
            if (offset == _iovOffset && last.Page == page)
            {
                pipe.SetLength(head, last.Len + (uint)bytes);
                _iovOffset += bytes;
                _count -= bytes;
                return bytes;
            }
            head++;
        }
        if (PipeFull(head)) return 0;
        _kernel!.Memory.Get(page);
        pipe.Push(new PipeBuffer(page, (uint)offset, (uint)bytes, PipeBufferKind.PageCache));
        _pipeHead = head;
        _iovOffset = offset + bytes;
        _count -= bytes;
        return bytes;
    }

    // pipe_space_for_user() from the data start: free slots (the ring is taken to be max_usage slots).
    private readonly int PipeFreeSlots(uint head)
    {
        uint used = head - _pipe!.Tail;
        return used >= _pipe.MaxUsage ? 0 : (int)(_pipe.MaxUsage - used);
    }

    // __pipe_get_pages(): reserves up to maxsize bytes in at most maxpages slots and returns references
    // on the reserved pages; -EFAULT when nothing could be reserved. Does not move the position.
    private readonly long PipeGetPages(ref Page[]? pages, ulong maxsize, int maxpages, out ulong start)
    {
        start = 0;
        if (maxsize == 0) return 0;
        if (!PipeSane()) return -Errno.EFAULT;
        PipeDataStart(out uint head, out start);
        int slots = PipeFreeSlots(head);
        if (slots > maxpages) slots = maxpages;
        ulong capacity = (ulong)slots * PageSize - start;
        if (slots == 0) capacity = 0;
        if (maxsize > capacity) maxsize = capacity;
        int npages = (int)PagesSpanned(start, maxsize);
        pages ??= new Page[Math.Max(npages, 1)];
        ulong n = PushPipe(maxsize, out head, out start);
        if (n == 0) return -Errno.EFAULT;
        IPipeRing pipe = _pipe!;
        PhysicalMemory mem = _kernel!.Memory;
        int k = 0;
        for (long covered = (long)(n + start); covered > 0; covered -= PageSize, head++)
        {
            Page p = pipe[head].Page;
            mem.Get(p);
            pages[k++] = p;
        }
        return (long)n;
    }
}
