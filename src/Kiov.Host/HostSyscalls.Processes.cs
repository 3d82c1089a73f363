using System.Buffers;
using System.Text;
using Kiov.Iov;
using static Kiov.Abi.SyscallNumbers;

namespace Kiov.Trace;

internal sealed partial class HostSyscalls : IProcessSyscalls
{
    private bool exited;

    // A child of fork: its own executor (a fork of the parent's), a copy of the parent's trace fds.
    private HostSyscalls(IHostKernel kernel, TraceFdTable<int> parentFds)
    {
        this.kernel = kernel;
        ownsKernel = true;
        fds = parentFds.Clone();
        pid = kernel.Syscall(Getpid);
    }

    /// <inheritdoc/>
    public bool HasExited => exited;

    /// <summary><c>fork()</c> really made in the host-side process: the child is an executor of its own
    /// (kiov-exec's FORK), with a copy of the arena and of the fds.</summary>
    public IProcessSyscalls? Fork(out long error)
    {
        if (kernel is not ExecutorHostKernel executor)
            throw new InvalidOperationException("fork needs the host-side executor");
        error = executor.Fork(out ExecutorHostKernel? child);
        if (child == null) return null;
        error = 0;
        return new HostSyscalls(child, fds);
    }

    /// <inheritdoc/>
    public long Exit()
    {
        if (kernel is not ExecutorHostKernel executor)
            throw new InvalidOperationException("exit needs the host-side executor");
        executor.Exit();
        exited = true;
        WaitUntilDead(pid);
        return 0;
    }

    // The executor answers EXIT just before it calls _exit: wait until the kernel has finished the exit
    // (the task is a zombie, or reaped), so that the next op sees its memory and fds gone, and
    // process_vm_* on it finds no mm (ESRCH) rather than a half-torn-down one.
    private static void WaitUntilDead(long pid)
    {
        string path = $"/proc/{pid}/stat";
        var spin = new SpinWait();
        for (int i = 0; i < 100_000; i++)
        {
            string stat;
            try { stat = File.ReadAllText(path); }
            catch (IOException) { return; }  // reaped
            int close = stat.LastIndexOf(')');
            if (close < 0 || close + 2 >= stat.Length || stat[close + 2] is 'Z' or 'X') return;
            spin.SpinOnce();
        }
        throw new HostExecutorException($"the host-side process {pid} did not finish exiting");
    }

    /// <inheritdoc/>
    public long ProcessVmReadv(IProcessSyscalls target, ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote) =>
        RemoteVm(SyscallNumbers.ProcessVmReadv, Of(target).pid, local, remote);

    /// <inheritdoc/>
    public long ProcessVmWritev(IProcessSyscalls target, ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote) =>
        RemoteVm(SyscallNumbers.ProcessVmWritev, Of(target).pid, local, remote);

    private long RemoteVm(long nr, long targetPid, ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote)
    {
        int half = kernel.ScratchSize / 2;
        ulong l = PutIovecs(local, 0, half), r = PutIovecs(remote, half, half);
        return kernel.Syscall(nr, targetPid, (long)l, local.Length, (long)r, remote.Length, 0);
    }

    /// <inheritdoc/>
    public long MemRead(IProcessSyscalls target, ulong addr, ulong len, out ulong hash)
    {
        hash = Fnv1a64.Start;
        long fd = OpenMem(Of(target).pid);
        if (fd < 0) return fd;
        var buffer = new ProcMemBuffer(kernel, fd);
        try { return ProcMemCopy.Read(ref buffer, addr, len, out hash); }
        finally { buffer.Close(); }
    }

    /// <inheritdoc/>
    public long MemWrite(IProcessSyscalls target, ulong addr, ulong len, uint seed)
    {
        long fd = OpenMem(Of(target).pid);
        if (fd < 0) return fd;
        var buffer = new ProcMemBuffer(kernel, fd);
        try { return ProcMemCopy.Write(ref buffer, addr, len, seed); }
        finally { buffer.Close(); }
    }

    // open("/proc/<pid>/mem", O_RDWR) in the calling process.
    private long OpenMem(long targetPid)
    {
        kernel.WriteScratch(0, Encoding.ASCII.GetBytes($"/proc/{targetPid}/mem\0"));
        return kernel.Syscall(Openat, At.FdCwd, (long)kernel.ScratchAddress, OpenFlags.RdWr | OpenFlags.CloExec);
    }

    private HostSyscalls Of(IProcessSyscalls target) =>
        target as HostSyscalls ?? throw new ArgumentException("the target is not a host process", nameof(target));

    // The scratch buffer standing for the runner's buffer; each Copy is one pread64/pwrite64 of the mem file.
    private struct ProcMemBuffer(IHostKernel kernel, long fd) : ISelfCopyBuffer
    {
        private byte[]? _bytes;

        private byte[] Bytes => _bytes ??= ArrayPool<byte>.Shared.Rent(kernel.ScratchSize);

        public readonly int ChunkSize => kernel.ScratchSize;

        public void Generate(uint seed, ulong offset, int n)
        {
            FillPattern.Generate(seed, offset, Bytes.AsSpan(0, n));
            kernel.WriteScratch(0, Bytes.AsSpan(0, n));
        }

        public readonly long Copy(ulong remote, int n, bool write) =>
            kernel.Syscall(write ? Pwrite64 : Pread64, fd, (long)kernel.ScratchAddress, n, (long)remote);

        public ulong Hash(ulong hash, int n)
        {
            kernel.ReadScratch(0, Bytes.AsSpan(0, n));
            return Fnv1a64.Append(hash, Bytes.AsSpan(0, n));
        }

        public void Close()
        {
            kernel.Syscall(SyscallNumbers.Close, fd);
            if (_bytes != null) ArrayPool<byte>.Shared.Return(_bytes);
            _bytes = null;
        }
    }
}
