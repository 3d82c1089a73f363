using Kiov.Concurrency;
using Kiov.Iov;

namespace Kiov.Fs;

public static partial class Syscalls
{
    /// <summary>
    /// <c>splice(fd_in, off_in, fd_out, off_out, len, flags)</c> with the offsets as values (null
    /// passes NULL): 0 for a zero length, -EINVAL for unknown flags, -EBADF, -ESPIPE for an offset on a
    /// pipe, then <c>do_splice</c>: file to pipe lends page-cache pages, pipe to file writes the pipe's
    /// pages through a BVEC iterator, pipe to pipe moves buffers. Neither end a pipe: -EINVAL.
    /// </summary>
    public static long Splice(Process p, int fdIn, long? offIn, int fdOut, long? offOut, ulong len, uint flags)
    {
        if (len == 0) return 0;
        if ((flags & ~SpliceFlags.All) != 0) return -Errno.EINVAL;
        using ScopedFile heldIn = ScopedFile.Get(p, fdIn);
        if (heldIn.File is not { } input) return -Errno.EBADF;
        using ScopedFile heldOut = ScopedFile.Get(p, fdOut);
        if (heldOut.File is not { } output) return -Errno.EBADF;
        return DoSplice(p, input, offIn, output, offOut, len, flags);
    }

    // __do_splice + do_splice.
    private static long DoSplice(Process p, KFile input, long? offIn, KFile output, long? offOut, ulong len, uint flags)
    {
        // __do_splice: each pipe end refuses an offset, then loses FMODE_NOWAIT, before do_splice checks anything.
        Pipe? ipipe = input.PipeInfo, opipe = output.PipeInfo;
        if (ipipe != null)
        {
            if (offIn != null) return -Errno.ESPIPE;
            input.ClearNoWait();
        }
        if (opipe != null)
        {
            if (offOut != null) return -Errno.ESPIPE;
            output.ClearNoWait();
        }
        if ((input.Mode & FMode.Read) == 0 || (output.Mode & FMode.Write) == 0) return -Errno.EBADF;
        bool nonBlock = (flags & SpliceFlags.NonBlock) != 0;
        if (ipipe != null && opipe != null)
        {
            if (ipipe == opipe) return -Errno.EINVAL;
            return SplicePipeToPipe(ipipe, opipe, len, nonBlock || input.NonBlock || output.NonBlock);
        }
        if (ipipe != null)
        {
            long pos;
            if (offOut is long o) { if ((output.Mode & FMode.PWrite) == 0) return -Errno.EINVAL; pos = o; }
            else pos = output.Pos;
            if (output.Append) return -Errno.EINVAL; // do_splice: no splicing into an O_APPEND file
            long v = RwVerifyArea(len, pos, true);
            if (v != 0) return v;
            if ((output.Ops & FileOps.SpliceWrite) == 0) return -Errno.EINVAL;
            long r = output.SpliceWrite(ipipe, ref pos, len, nonBlock || input.NonBlock);
            if (offOut == null && r > 0) output.Pos = pos;
            return r;
        }
        if (opipe != null)
        {
            long pos;
            if (offIn is long o) { if ((input.Mode & FMode.PRead) == 0) return -Errno.EINVAL; pos = o; }
            else pos = input.Pos;
            // do_splice checks the whole request (rw_verify_area) before splice_file_to_pipe waits for
            // room: a negative offset is EINVAL even when the pipe has no readers (EPIPE).
            long verify = RwVerifyArea(len, pos, true);
            if (verify != 0) return verify;
            long r = SpliceFileToPipe(input, opipe, ref pos, len, nonBlock || output.NonBlock);
            if (offIn == null && r > 0) input.Pos = pos;
            return r;
        }
        return -Errno.EINVAL;
    }

    // splice_file_to_pipe: wait_for_space, then do_splice_read (len capped by the free slots, rw_verify_area, MAX_RW_COUNT).
    private static long SpliceFileToPipe(KFile input, Pipe pipe, ref long pos, ulong len, bool nonBlock)
    {
        Sched.Lock(pipe.Lock);
        lock (pipe.Lock)
        {
            int space = pipe.WaitForSpaceLocked(nonBlock);
            if (space != 0) return space;
            ulong room = (ulong)pipe.FreeSlotsLocked << Memory.PageGeometry.PageShift;
            if (len > room) len = room;
            long v = RwVerifyArea(len, pos, true);
            if (v != 0) return v;
            if (len > Iov.IovLimits.MaxRwCount) len = Iov.IovLimits.MaxRwCount;
            if ((input.Ops & FileOps.SpliceRead) == 0) return -Errno.EINVAL;
            long r = input.SpliceRead(ref pos, pipe, len);
            if (r > 0) Sched.PulseAll(pipe.Lock); // wakeup_pipe_readers, however the file filled the pipe
            return r;
        }
    }

    // splice_pipe_to_pipe: ipipe_prep waits for input and opipe_prep for room, each under its own
    // pipe's lock; then, under both (in a fixed order), whole buffers move with their page reference
    // and flags, and a partial one is shared, both buffers holding a reference, the new one not
    // mergeable. A race that leaves nothing to do and nothing done goes back to waiting.
    private static long SplicePipeToPipe(Pipe ipipe, Pipe opipe, ulong len, bool nonBlock)
    {
        Pipe first = ipipe.Id < opipe.Id ? ipipe : opipe, second = first == ipipe ? opipe : ipipe;
        while (true)
        {
            Sched.Lock(ipipe.Lock);
            lock (ipipe.Lock)
            {
                while (ipipe.IsEmptyLocked && ipipe.WritersLocked != 0)
                {
                    if (nonBlock) return -Errno.EAGAIN;
                    Sched.Wait(ipipe.Lock);
                }
            }
            Sched.Lock(opipe.Lock);
            lock (opipe.Lock)
            {
                while (opipe.IsFullLocked)
                {
                    if (opipe.ReadersLocked == 0) return -Errno.EPIPE;
                    if (nonBlock) return -Errno.EAGAIN;
                    Sched.Wait(opipe.Lock);
                }
            }
            long ret = 0;
            bool inputConsumed = false, retry = false;
            Sched.Lock(first.Lock, second.Lock);
            lock (first.Lock)
            lock (second.Lock)
            {
                while (len != 0)
                {
                    if (opipe.ReadersLocked == 0) { if (ret == 0) ret = -Errno.EPIPE; break; }
                    if (ipipe.IsEmptyLocked && ipipe.WritersLocked == 0) break;
                    if (ipipe.IsEmptyLocked || opipe.IsFullLocked)
                    {
                        if (ret != 0) break;
                        if (nonBlock) { ret = -Errno.EAGAIN; break; }
                        retry = true;
                        break;
                    }
                    ref PipeBuffer ibuf = ref ipipe.TailLocked;
                    PipeBuffer moved = ibuf;
                    ipipe.Memory.Get(moved.Page);
                    if (len >= ibuf.Len) { ipipe.ReleaseTailLocked(); inputConsumed = true; }
                    else
                    {
                        moved = moved with { Len = (uint)len, CanMerge = false };
                        ibuf = ibuf with { Offset = ibuf.Offset + (uint)len, Len = ibuf.Len - (uint)len };
                    }
                    opipe.AddLocked(moved);
                    ret += moved.Len;
                    len -= moved.Len;
                }
                if (ret > 0) Sched.PulseAll(opipe.Lock);
                if (inputConsumed) Sched.PulseAll(ipipe.Lock);
            }
            if (!retry) return ret;
        }
    }
}
