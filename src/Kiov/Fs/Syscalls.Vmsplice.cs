using Kiov.Concurrency;
using System.Buffers;
using Kiov.Iov;
using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Fs;

public static partial class Syscalls
{
    /// <summary>Pages <c>iter_to_pipe</c> gets per call into its on-stack array.</summary>
    private const int VmsplicePages = 16;

    /// <summary>
    /// <c>vmsplice(fd, iov, n, flags)</c>: -EINVAL for unknown flags, -EBADF for a closed fd or one
    /// that is neither readable nor writable, then <c>import_iovec</c> in the direction of the fd.
    /// On a pipe's write end the user's pages go into the pipe by reference (<c>iter_to_pipe</c>): a
    /// later write to that memory shows in what the reader gets. On the read end the pipe's data is
    /// copied out to the user (<c>vmsplice_to_user</c>). A non-pipe fd: -EBADF.
    /// </summary>
    public static long Vmsplice(Process p, int fd, ReadOnlySpan<IoVec> uiov, uint flags) =>
        Vmsplice(p, fd, new UserIovecs(uiov), flags);

    private static long Vmsplice(Process p, int fd, UserIovecs uiov, uint flags)
    {
        if ((flags & ~SpliceFlags.All) != 0) return -Errno.EINVAL;
        using ScopedFile held = ScopedFile.Get(p, fd);
        if (held.File is not { } f) return -Errno.EBADF;
        IoVec[] iov = ArrayPool<IoVec>.Shared.Rent(uiov.PoolLength);
        try
        {
            bool toPipe;
            if ((f.Mode & FMode.Write) != 0) toPipe = true;
            else if ((f.Mode & FMode.Read) != 0) toPipe = false;
            else return -Errno.EBADF;
            IoVec[] arr = iov;
            long r = uiov.Import(toPipe, p, ref arr, out IovIter iter);
            if (r < 0) return r;
            if (iter.Count == 0) return 0;
            Pipe? pipe = f.PipeInfo;
            if (pipe == null) return -Errno.EBADF;
            f.ClearNoWait(); // pipe_clear_nowait in vmsplice_to_pipe and vmsplice_to_user
            bool nonBlock = (flags & SpliceFlags.NonBlock) != 0;
            return toPipe ? VmspliceToPipe(pipe, ref iter, nonBlock) : VmspliceToUser(pipe, ref iter, nonBlock);
        }
        finally { ArrayPool<IoVec>.Shared.Return(iov); }
    }

    // vmsplice_to_pipe → wait_for_space, iter_to_pipe: get_pages2 into a 16-page array, one buffer per
    // page; when the pipe refuses one, the unqueued bytes are reverted and their references dropped.
    private static long VmspliceToPipe(Pipe pipe, ref IovIter from, bool nonBlock)
    {
        if (from.Mm!.Kernel.Config.VmspliceBatchPrimitive) return VmspliceToPipeBatched(pipe, ref from, nonBlock);
        Page[] pages = ArrayPool<Page>.Shared.Rent(VmsplicePages);
        try
        {
            Sched.Lock(pipe.Lock);
            lock (pipe.Lock)
            {
                int space = pipe.WaitForSpaceLocked(nonBlock);
                if (space != 0) return space;
                long total = 0, ret = 0;
                while (from.Count != 0)
                {
                    long left = from.GetPages2(pages, ulong.MaxValue, VmsplicePages, out ulong start);
                    if (left <= 0) { ret = left; break; }
                    int n = (int)((left + (long)start + PageSize - 1) / PageSize);
                    for (int i = 0; i < n; i++)
                    {
                        uint size = (uint)Math.Min(left, PageSize - (long)start);
                        long added = pipe.AddLocked(new PipeBuffer(pages[i], (uint)start, size, PipeBufferKind.UserPage));
                        if (added < 0)
                        {
                            from.Revert((ulong)left);
                            while (++i < n) pipe.Memory.Put(pages[i]);
                            return total != 0 ? total : added;
                        }
                        total += added;
                        left -= size;
                        start = 0;
                    }
                }
                return total != 0 ? total : ret;
            }
        }
        finally { ArrayPool<Page>.Shared.Return(pages); }
    }

    // vmsplice_to_user → __splice_from_pipe with pipe_to_user: whole buffers (or what is wanted) are
    // copied out; a short copy is -EFAULT for that buffer, which stays in the pipe.
    private static unsafe long VmspliceToUser(Pipe pipe, ref IovIter to, bool nonBlock)
    {
        long spliced = 0;
        Sched.Lock(pipe.Lock);
        lock (pipe.Lock)
        {
            while (to.Count != 0)
            {
                int ready = pipe.WaitForDataLocked(nonBlock, spliced != 0);
                if (ready <= 0) return spliced != 0 ? spliced : ready;
                while (!pipe.IsEmptyLocked && to.Count != 0)
                {
                    ref PipeBuffer buf = ref pipe.TailLocked;
                    uint len = (uint)Math.Min(buf.Len, to.Count);
                    ulong copied = to.CopyToIter(pipe.Memory.Pointer(buf.Page) + buf.Offset, len);
                    if (copied != len) return spliced != 0 ? spliced : -Errno.EFAULT;
                    pipe.ConsumeLocked(len);
                    spliced += len;
                }
            }
        }
        return spliced;
    }
}
