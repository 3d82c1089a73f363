using Kiov.Iov;

namespace Kiov.Fs;

public static partial class Syscalls
{
    /// <summary>
    /// <c>tee(fd_in, fd_out, len, flags)</c>: -EINVAL for unknown flags, 0 for a zero length, -EBADF
    /// for a closed fd or an input not open for reading, then <c>do_tee</c>: -EBADF unless the output
    /// is open for writing, -EINVAL unless both are different pipes; then the input is waited for
    /// (<c>ipipe_prep</c>: empty with writers is -EAGAIN non-blocking) and the output (<c>opipe_prep</c>:
    /// full is -EPIPE without readers, else -EAGAIN), and <c>link_pipe</c> gives the output a reference
    /// to each input buffer in turn, neither mergeable nor a gift, the last one cut to what is left of
    /// <paramref name="len"/>; the input keeps everything. Returns the bytes duplicated.
    /// </summary>
    public static long Tee(Process p, int fdIn, int fdOut, ulong len, uint flags)
    {
        if ((flags & ~SpliceFlags.All) != 0) return -Errno.EINVAL;
        if (len == 0) return 0;
        using ScopedFile heldIn = ScopedFile.Get(p, fdIn);
        if (heldIn.File is not { } input) return -Errno.EBADF;
        if ((input.Mode & FMode.Read) == 0) return -Errno.EBADF;
        using ScopedFile heldOut = ScopedFile.Get(p, fdOut);
        if (heldOut.File is not { } output) return -Errno.EBADF;
        return DoTee(input, output, len, flags);
    }

    private static long DoTee(KFile input, KFile output, ulong len, uint flags)
    {
        Pipe? ipipe = input.PipeInfo, opipe = output.PipeInfo;
        if ((input.Mode & FMode.Read) == 0 || (output.Mode & FMode.Write) == 0) return -Errno.EBADF;
        if (ipipe == null || opipe == null || ipipe == opipe) return -Errno.EINVAL;
        bool nonBlock = (flags & SpliceFlags.NonBlock) != 0 || input.NonBlock || output.NonBlock;
        lock (ipipe.Lock)
        {
            while (ipipe.IsEmptyLocked && ipipe.WritersLocked != 0)
            {
                if (nonBlock) return -Errno.EAGAIN;
                Monitor.Wait(ipipe.Lock);
            }
        }
        lock (opipe.Lock)
        {
            while (opipe.IsFullLocked)
            {
                if (opipe.ReadersLocked == 0) return -Errno.EPIPE;
                if (nonBlock) return -Errno.EAGAIN;
                Monitor.Wait(opipe.Lock);
            }
        }
        return LinkPipe(ipipe, opipe, len);
    }

    // link_pipe: under both locks (in a fixed order), each input buffer from the tail is shared with
    // the output, until the input runs out, the output is full, or len is used up.
    private static long LinkPipe(Pipe ipipe, Pipe opipe, ulong len)
    {
        Pipe first = ipipe.Id < opipe.Id ? ipipe : opipe, second = first == ipipe ? opipe : ipipe;
        long ret = 0;
        lock (first.Lock)
        lock (second.Lock)
        {
            int i = 0;
            do
            {
                if (opipe.ReadersLocked == 0)
                {
                    if (ret == 0) ret = -Errno.EPIPE;
                    break;
                }
                if (i >= ipipe.Occupancy || opipe.IsFullLocked) break;
                PipeBuffer copy = ipipe.BufferLocked(i) with { CanMerge = false };
                if (copy.Len > len) copy = copy with { Len = (uint)len };
                ipipe.Memory.Get(copy.Page);
                opipe.AddLocked(copy);
                ret += copy.Len;
                len -= copy.Len;
                i++;
            }
            while (len != 0);
            if (ret > 0) Monitor.PulseAll(opipe.Lock);
        }
        return ret;
    }
}
