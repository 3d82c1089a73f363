using System.Diagnostics;
using System.Runtime.InteropServices;
using static Kiov.Trace.HostSyscallNumbers;

namespace Kiov.Trace;

/// <summary>
/// The host kernel reached through kiov-exec (native/kiov-exec.c, built beside this assembly), a
/// process of its own that reserves the trace arena and makes every system call there, so no
/// trace can reach kiov's memory. The two talk over a unix socketpair in the protocol that
/// kiov-exec.c describes: a request of 8 words, a reply of 2, one round trip per system call
/// (a scratch write rides along with the call after it). Nothing is allocated per call.
/// If the executor dies or stops answering, every call throws a <see cref="HostExecutorException"/>
/// naming what it was doing; no process is left behind on <see cref="Dispose"/>.
/// </summary>
internal sealed unsafe class ExecutorHostKernel : IHostKernel
{
    /// <summary>The executor's file name, in the folder of this assembly.</summary>
    public const string FileName = "kiov-exec";

    /// <summary>How long a request may go unanswered before the executor is given up on.</summary>
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(120);

    private const long Magic = 0x6b696f7665786563; // "kiovexec"
    private const int HeaderBytes = 64, ReplyBytes = 16;
    private const int AfUnix = 1, SockStream = 1, SockCloexec = 0x80000, MsgNoSignal = 0x4000;
    private const int SolSocket = 1, SoRcvtimeo = 20, ScmRights = 1, FSetfd = 2;

    private enum Request : long { Syscall = 1, WriteScratch, ReadScratch, Fill, Hash, Reset, Fork, Exit }

    private static readonly Lock SpawnLock = new();

    private readonly Process? process;
    private int channel;
    private readonly byte* outgoing;
    private int capacity;
    private int pending;
    private readonly long* answer;
    private string? lost;

    /// <summary>The environment variable that, for tests of a crash, makes every executor kill
    /// itself (SIGKILL) on receiving that many requests.</summary>
    public const string FaultAfterVariable = "KIOV_EXEC_FAULT_AFTER";

    /// <summary>Starts an executor: it reserves the arena and its guard page (TRACE.md).</summary>
    /// <param name="faultAfter">For tests: the executor kills itself (SIGKILL) on receiving this
    /// many requests; 0 never; null takes <see cref="FaultAfterVariable"/> from the environment.</param>
    /// <param name="executable">For tests: the executor to start instead of the one beside this assembly.</param>
    /// <exception cref="HostExecutorException">kiov-exec was not built, cannot start or cannot
    /// reserve the arena.</exception>
    public ExecutorHostKernel(int? faultAfter = null, string? executable = null)
    {
        EnsureSupported();
        string path = executable ?? Path.Combine(AppContext.BaseDirectory, FileName);
        if (!File.Exists(path))
            throw new HostExecutorException(
                $"the host back end is unavailable: {path} was not built (no C compiler, cc, was found when kiov was built)");
        faultAfter ??= int.TryParse(Environment.GetEnvironmentVariable(FaultAfterVariable), out int n) ? n : 0;
        int* pair = stackalloc int[2];
        long made = HostLibc.Call(Socketpair, AfUnix, SockStream | SockCloexec, 0, (long)pair);
        if (made < 0)
            throw new HostExecutorException($"cannot make the channel to {FileName}: errno {-made}");
        channel = pair[0];
        outgoing = AllocateBuffers(0, out answer);
        try
        {
            process = Spawn(path, pair[1], faultAfter.Value);
            Pid = process.Id;
            SetAnswerTimeout();
            Receive(answer, 4 * sizeof(long), Request.Syscall, -1);
            if (answer[0] != Magic)
                throw new HostExecutorException($"{path} does not speak kiov's executor protocol");
            if (answer[1] < 0)
                throw new HostExecutorException(
                    $"{FileName} cannot reserve the trace arena [0x{TraceArena.Start:x}, 0x{TraceArena.End:x}) and its guard page: errno {-answer[1]}");
            ScratchAddress = (ulong)answer[2];
            ScratchSize = (int)Math.Min(answer[3], 1 << 20); // the most the buffers above hold
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    // A forked executor: its channel came from its parent with the FORK reply.
    private ExecutorHostKernel(int channel, int pid, ulong scratchAddress, int scratchSize)
    {
        this.channel = channel;
        Pid = pid;
        ScratchAddress = scratchAddress;
        ScratchSize = scratchSize;
        outgoing = AllocateBuffers(scratchSize, out answer);
        SetAnswerTimeout();
    }

    // What waits to be sent: a few headers and a whole scratch buffer's payload.
    private byte* AllocateBuffers(int scratchSize, out long* reply)
    {
        capacity = 4 * HeaderBytes + Math.Max(scratchSize, 1 << 20);
        reply = (long*)NativeMemory.AlignedAlloc(64, 64);
        return (byte*)NativeMemory.AlignedAlloc((nuint)capacity, 64);
    }

    private static Process Spawn(string path, int childEnd, int faultAfter)
    {
        // The child's end must survive exec, and only into this one child: other executors
        // started at the same time would hold it open and hide this one's death.
        lock (SpawnLock)
        {
            try
            {
                long cleared = HostLibc.Call(Fcntl, childEnd, FSetfd, 0);
                if (cleared < 0)
                    throw new HostExecutorException($"cannot pass the channel to {FileName}: errno {-cleared}");
                var info = new ProcessStartInfo(path) { UseShellExecute = false };
                info.ArgumentList.Add(childEnd.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (faultAfter > 0)
                    info.ArgumentList.Add(faultAfter.ToString(System.Globalization.CultureInfo.InvariantCulture));
                try
                {
                    return Process.Start(info) ?? throw new HostExecutorException($"cannot start {path}");
                }
                catch (System.ComponentModel.Win32Exception e)
                {
                    throw new HostExecutorException($"cannot start {path}: {e.Message}");
                }
            }
            finally
            {
                HostLibc.Call(Close, childEnd);
            }
        }
    }

    private void SetAnswerTimeout()
    {
        long* timeval = stackalloc long[2];
        timeval[0] = (long)AnswerTimeout.TotalSeconds;
        timeval[1] = 0;
        HostLibc.Call(Setsockopt, channel, SolSocket, SoRcvtimeo, (long)timeval, 2 * sizeof(long));
    }

    /// <summary>The executor's process id on the host.</summary>
    public int Pid { get; }

    /// <summary>Whether the executor has been found dead or unanswering.</summary>
    public bool Lost => lost is not null;

    /// <inheritdoc/>
    public ulong ScratchAddress { get; }

    /// <inheritdoc/>
    public int ScratchSize { get; }

    /// <inheritdoc/>
    public long Syscall(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0)
    {
        long* h = Header(Request.Syscall, 0);
        h[1] = nr; h[2] = a0; h[3] = a1; h[4] = a2; h[5] = a3; h[6] = a4; h[7] = a5;
        return RoundTrip(Request.Syscall, nr);
    }

    /// <inheritdoc/>
    public void WriteScratch(int offset, ReadOnlySpan<byte> bytes)
    {
        CheckScratch(offset, bytes.Length);
        if (bytes.IsEmpty)
            return;
        long* h = Header(Request.WriteScratch, bytes.Length);
        h[1] = offset;
        h[2] = bytes.Length;
        bytes.CopyTo(new Span<byte>(outgoing + pending, bytes.Length));
        pending += bytes.Length;
    }

    /// <inheritdoc/>
    public void ReadScratch(int offset, Span<byte> bytes)
    {
        CheckScratch(offset, bytes.Length);
        long* h = Header(Request.ReadScratch, 0);
        h[1] = offset;
        h[2] = bytes.Length;
        RoundTrip(Request.ReadScratch, 0);
        fixed (byte* p = bytes)
            Receive(p, bytes.Length, Request.ReadScratch, 0);
    }

    /// <inheritdoc/>
    public long Fill(ulong addr, ulong len, uint seed)
    {
        long* h = Header(Request.Fill, 0);
        h[1] = (long)addr; h[2] = (long)len; h[3] = seed;
        return RoundTrip(Request.Fill, 0);
    }

    /// <inheritdoc/>
    public long Hash(ulong addr, ulong len, out ulong hash)
    {
        long* h = Header(Request.Hash, 0);
        h[1] = (long)addr; h[2] = (long)len;
        long ret = RoundTrip(Request.Hash, 0);
        hash = (ulong)answer[1];
        return ret;
    }

    /// <summary>Readies the executor for the next trace: kills its forked children, closes every
    /// fd but its channel, and unmaps and reserves again the arena and its guard page.</summary>
    /// <returns>0, or -errno if the arena could not be reserved again.</returns>
    public long Reset()
    {
        Header(Request.Reset, 0);
        return RoundTrip(Request.Reset, 0);
    }

    /// <summary><c>fork()</c> of the executor: the child is an executor of its own, with a copy
    /// of the arena, the fds and the scratch buffer, served on a channel of its own.</summary>
    /// <param name="child">The child's kernel, when the fork succeeded.</param>
    /// <returns>The child's host pid, or -errno.</returns>
    public long Fork(out ExecutorHostKernel? child)
    {
        child = null;
        Header(Request.Fork, 0);
        Flush(Request.Fork, 0);
        int fd = ReceiveWithFd(Request.Fork);
        if (answer[0] < 0)
            return answer[0];
        if (fd < 0)
            throw Fail(Request.Fork, 0, $"{FileName} answered a fork without the child's channel");
        child = new ExecutorHostKernel(fd, (int)answer[0], ScratchAddress, ScratchSize);
        return answer[0];
    }

    /// <summary>Ends a forked executor: <c>exit(0)</c> in it, after its answer.</summary>
    public void Exit()
    {
        Header(Request.Exit, 0);
        RoundTrip(Request.Exit, 0);
    }

    private void CheckScratch(int offset, int length)
    {
        if (offset < 0 || offset > ScratchSize || length > ScratchSize - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is not inside the {ScratchSize}-byte scratch buffer");
    }

    // A request header at the end of what is waiting to be sent, room made for `payload` bytes after it.
    private long* Header(Request request, int payload)
    {
        if (lost is not null)
            throw new HostExecutorException(lost);
        ObjectDisposedException.ThrowIf(channel < 0, this);
        if (pending + HeaderBytes + payload > capacity)
            Flush(request, 0);
        long* h = (long*)(outgoing + pending);
        new Span<long>(h, 8).Clear();
        h[0] = (long)request;
        pending += HeaderBytes;
        return h;
    }

    private long RoundTrip(Request request, long nr)
    {
        Flush(request, nr);
        Receive((byte*)answer, ReplyBytes, request, nr);
        return answer[0];
    }

    private void Flush(Request request, long nr)
    {
        int sent = 0;
        while (sent < pending)
        {
            long n = HostLibc.Call(Sendto, channel, (long)(outgoing + sent), pending - sent, MsgNoSignal);
            if (n == -4) // EINTR
                continue;
            if (n <= 0)
            {
                pending = 0;
                throw Fail(request, nr, null);
            }
            sent += (int)n;
        }
        pending = 0;
    }

    private void Receive(void* buffer, int length, Request request, long nr)
    {
        int got = 0;
        while (got < length)
        {
            long n = HostLibc.Call(Recvfrom, channel, (long)((byte*)buffer + got), length - got);
            if (n == -4) // EINTR
                continue;
            if (n == -11) // EAGAIN: SO_RCVTIMEO ran out
                throw Fail(request, nr, $"did not answer within {AnswerTimeout.TotalSeconds} s");
            if (n <= 0)
                throw Fail(request, nr, null);
            got += (int)n;
        }
    }

    // The FORK reply, with the child's channel as SCM_RIGHTS on its first byte.
    private int ReceiveWithFd(Request request)
    {
        var iov = new Iov.IoVec((ulong)answer, ReplyBytes);
        long* control = stackalloc long[4]; // CMSG_SPACE(sizeof(int)) = 24 bytes
        new Span<long>(control, 4).Clear();
        MsgHdr msg = new() { Iov = &iov, IovLen = 1, Control = control, ControlLen = 24 };
        long n;
        do
            n = HostLibc.Call(Recvmsg, channel, (long)&msg, 0x40000000 /* MSG_CMSG_CLOEXEC */);
        while (n == -4);
        if (n <= 0)
            throw Fail(request, 0, n == -11 ? $"did not answer within {AnswerTimeout.TotalSeconds} s" : null);
        if (n < ReplyBytes)
            Receive((byte*)answer + n, ReplyBytes - (int)n, request, 0);
        // struct cmsghdr { size_t len; int level; int type; int data[]; }
        bool hasFd = msg.ControlLen >= 20 && control[0] == 20 && ((int*)control)[2] == SolSocket && ((int*)control)[3] == ScmRights;
        return hasFd ? ((int*)control)[4] : -1;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public int NameLen;
        public Iov.IoVec* Iov;
        public ulong IovLen;
        public void* Control;
        public ulong ControlLen;
        public int Flags;
    }

    // Marks the executor lost, says how it ended if it is the one this object started, and gives
    // the exception to throw.
    private HostExecutorException Fail(Request request, long nr, string? why)
    {
        if (lost is null)
        {
            string how = "died";
            if (why is not null)
            {
                how = why;
                Kill();
            }
            else if (process is not null && process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                int code = process.ExitCode;
                how = code > 128 ? $"died (killed by signal {code - 128})" : $"died (exit status {code})";
            }
            string doing = request switch
            {
                Request.Syscall => nr < 0 ? "its start" : HostSyscallNumbers.Name(nr),
                Request.WriteScratch or Request.ReadScratch => "a scratch buffer copy",
                _ => request.ToString().ToLowerInvariant(),
            };
            lost = $"the host-side process {FileName} (pid {Pid}) {how} during {doing}";
        }
        return new HostExecutorException(lost);
    }

    private void Kill()
    {
        if (process is null)
            HostLibc.Call(HostSyscallNumbers.Kill, Pid, 9);
        else
        {
            try
            {
                process.Kill();
            }
            catch (InvalidOperationException)
            {
                // It has exited already.
            }
        }
    }

    /// <summary>Closes the channel, so the executor exits, and waits for it (killing it if it
    /// does not exit at once); frees the buffers.</summary>
    public void Dispose()
    {
        if (channel < 0)
            return;
        HostLibc.Call(Close, channel);
        channel = -1;
        if (process is not null)
        {
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                Kill();
                process.WaitForExit();
            }
            process.Dispose();
        }
        NativeMemory.AlignedFree(outgoing);
        NativeMemory.AlignedFree(answer);
    }
}
