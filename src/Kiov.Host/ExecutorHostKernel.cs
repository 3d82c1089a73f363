using System.Runtime.InteropServices;
using static Kiov.Abi.Socket;
using static Kiov.Abi.SyscallNumbers;
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

    private enum Request : long { Syscall = 1, WriteScratch, ReadScratch, Fill, Hash, Reset, Fork, Exit, ThreadChannels }

    private static readonly Lock SpawnLock = new();

    private readonly bool ownChild; // started here (so reaped here), not forked by another executor
    private bool reaped;
    private int waitStatus;
    private int channel;
    private readonly byte* outgoing;
    private int capacity;
    private int pending;
    private readonly long* answer;
    private string? lost;

    /// <summary>The environment variable that, for tests of a crash, makes every executor kill
    /// itself (SIGKILL) on receiving that many requests.</summary>
    public const string FaultAfterVariable = "KIOV_EXEC_FAULT_AFTER";

    /// <summary>Starts an executor: it reserves the arena and its guard page (docs/trace-format.md).</summary>
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
            Pid = Spawn(path, pair[1], faultAfter.Value);
            ownChild = true;
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

    // A forked executor, its channel from its parent with the FORK reply, or a thread of an
    // executor, its channel from THREAD_CHANNELS.
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

    // posix_spawn of the executor with the child's end of the channel as its fd 3. dup2 in the
    // child is the only way that end crosses exec: it stays close-on-exec here, so no other
    // program started meanwhile can inherit it (and keep the channel open after the executor died).
    private static int Spawn(string path, int childEnd, int faultAfter)
    {
        try
        {
            string[] args = faultAfter > 0
                ? [path, "3", faultAfter.ToString(System.Globalization.CultureInfo.InvariantCulture)]
                : [path, "3"];
            byte* actions = stackalloc byte[256]; // posix_spawn_file_actions_t is 80 bytes in glibc
            int error = HostLibc.PosixSpawnFileActionsInit(actions);
            if (error != 0)
                throw new HostExecutorException($"cannot start {path}: posix_spawn_file_actions_init: errno {error}");
            try
            {
                int pid = 0;
                error = HostLibc.PosixSpawnFileActionsAddDup2(actions, childEnd, 3);
                if (error == 0)
                    error = HostLibc.Spawn(path, args, actions, out pid);
                return error == 0 ? pid : throw new HostExecutorException($"cannot start {path}: errno {error}");
            }
            finally
            {
                HostLibc.PosixSpawnFileActionsDestroy(actions);
            }
        }
        finally
        {
            HostLibc.Call(Close, childEnd);
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
        Span<int> fds = [-1];
        int got = ReceiveWithFds(Request.Fork, fds);
        int fd = fds[0];
        if (answer[0] < 0)
            return answer[0];
        if (got != 1)
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

    /// <summary>The most thread kernels one <see cref="OpenThreadKernels"/> may open (MAX_THREADS in kiov-exec.c).</summary>
    public const int MaxThreads = 64;

    /// <summary>Opens <paramref name="count"/> thread kernels: channels each served by a thread of
    /// the executor (in its process, so with its memory and fds) with a scratch buffer of its own,
    /// the threads waiting on a barrier for each other before they serve. Until every one of them
    /// is disposed, this kernel must not be used: the executor answers it again only once all its
    /// threads have ended.</summary>
    /// <param name="count">How many, 1 to <see cref="MaxThreads"/>.</param>
    /// <param name="threads">The thread kernels, when they could be made.</param>
    /// <returns>0, or -errno if the executor could not make them.</returns>
    public long OpenThreadKernels(int count, out ExecutorHostKernel[]? threads)
    {
        threads = null;
        if (count is < 1 or > MaxThreads)
            throw new ArgumentOutOfRangeException(nameof(count), $"1 to {MaxThreads} thread kernels");
        long* h = Header(Request.ThreadChannels, 0);
        h[1] = count;
        Flush(Request.ThreadChannels, 0);
        Span<int> channels = stackalloc int[count];
        int got = ReceiveWithFds(Request.ThreadChannels, channels);
        if (answer[0] < 0)
            return answer[0];
        if (got != count)
        {
            foreach (int fd in channels[..got]) HostLibc.Call(Close, fd);
            throw Fail(Request.ThreadChannels, 0, $"{FileName} answered with {got} thread channels for {count}");
        }
        var kernels = new ExecutorHostKernel[count];
        for (int i = 0; i < count; i++)
            kernels[i] = new ExecutorHostKernel(channels[i], Pid, (ulong)answer[1] + (ulong)(i * ScratchSize), ScratchSize);
        threads = kernels;
        return 0;
    }

    /// <summary>Gives the executor up (SIGKILL) for <paramref name="why"/>, as when it stops
    /// answering: its threads stuck in a system call end only with it.</summary>
    /// <param name="why">What happened, for every later call's error.</param>
    public void GiveUp(string why)
    {
        lost ??= $"the host-side process {FileName} (pid {Pid}) was given up: {why}";
        Kill();
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

    // A reply with fds as SCM_RIGHTS on its first byte (FORK's child channel, THREAD_CHANNELS'
    // channels): how many came, into `fds`.
    private int ReceiveWithFds(Request request, Span<int> fds)
    {
        var iov = new Iov.IoVec((ulong)answer, ReplyBytes);
        const int controlBytes = 16 + 4 * MaxThreads; // CMSG_SPACE(MaxThreads ints)
        long* control = stackalloc long[controlBytes / 8];
        new Span<long>(control, controlBytes / 8).Clear();
        MsgHdr msg = new() { Iov = &iov, IovLen = 1, Control = control, ControlLen = controlBytes };
        long n;
        do
            n = HostLibc.Call(Recvmsg, channel, (long)&msg, MsgCmsgCloexec);
        while (n == -Errno.EINTR);
        if (n <= 0)
            throw Fail(request, 0, n == -Errno.EAGAIN ? $"did not answer within {AnswerTimeout.TotalSeconds} s" : null);
        if (n < ReplyBytes)
            Receive((byte*)answer + n, ReplyBytes - (int)n, request, 0);
        // struct cmsghdr { size_t len; int level; int type; int data[]; }
        if (msg.ControlLen < 16 || ((int*)control)[2] != SolSocket || ((int*)control)[3] != ScmRights)
            return 0;
        int count = (int)Math.Min(((long)control[0] - 16) / 4, fds.Length);
        new ReadOnlySpan<int>((int*)control + 4, count).CopyTo(fds);
        return count;
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
            else if (Reap())
            {
                int signal = waitStatus & 0x7f;
                how = signal != 0 ? $"died (killed by signal {signal})" : $"died (exit status {(waitStatus >> 8) & 0xff})";
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
        if (!reaped)
            HostLibc.Call(SyscallNumbers.Kill, Pid, Signal.Kill);
    }

    // Waits for the executor this object started to end; false for a forked one, whose parent
    // executor reaps it.
    private bool Reap()
    {
        if (!ownChild || reaped)
            return reaped;
        int status = 0;
        long ret;
        do
            ret = HostLibc.Call(Wait4, Pid, (long)&status, 0, 0);
        while (ret == -Errno.EINTR);
        reaped = true;
        waitStatus = status;
        return ret == Pid;
    }

    /// <summary>Closes the channel and ends the executor (SIGKILL: it holds nothing that needs
    /// an orderly end) and, if this object started it, waits for it; frees the buffers.</summary>
    public void Dispose()
    {
        if (channel < 0)
            return;
        HostLibc.Call(Close, channel);
        channel = -1;
        if (ownChild)
        {
            Kill();
            Reap();
        }
        NativeMemory.AlignedFree(outgoing);
        NativeMemory.AlignedFree(answer);
    }
}
