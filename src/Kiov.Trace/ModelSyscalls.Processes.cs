using System.Buffers;
using Kiov.Fs;
using Kiov.Iov;

namespace Kiov.Trace;

internal partial class ModelSyscalls : IProcessSyscalls
{
    private const int MemChunk = 64 << 10;  // bytes per pread/pwrite of /proc/<pid>/mem
    private readonly ModelSyscalls? _root;  // null for the trace's first process

    // A child of fork: the parent's machine and buffer pages, the child's process, a copy of the
    // parent's trace fds (the child's fd table has the same numbers).
    private ModelSyscalls(ModelSyscalls parent, Process child)
    {
        _root = parent._root ?? parent;
        Kernel = parent.Kernel;
        Process = child;
        _fds = parent._fds.Clone();
        _buffers = parent._buffers;
    }

    /// <inheritdoc/>
    public bool HasExited => Process.HasExited;

    /// <inheritdoc/>
    public IProcessSyscalls? Fork(out long error)
    {
        Process? child = Kernel.Fork(Process);
        error = child == null ? -Errno.ENOMEM : 0;
        return child == null ? null : new ModelSyscalls(this, child);
    }

    /// <inheritdoc/>
    public long Exit()
    {
        Process.Dispose();
        return 0;
    }

    /// <inheritdoc/>
    public long ProcessVmReadv(IProcessSyscalls target, ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote) =>
        Syscalls.ProcessVmReadv(Process, Of(target).Process, local, remote, 0);

    /// <inheritdoc/>
    public long ProcessVmWritev(IProcessSyscalls target, ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote) =>
        Syscalls.ProcessVmWritev(Process, Of(target).Process, local, remote, 0);

    /// <inheritdoc/>
    public long MemRead(IProcessSyscalls target, ulong addr, ulong len, out ulong hash)
    {
        var buffer = new ProcMemBuffer(Of(target).Process);
        try { return ProcMemCopy.Read(ref buffer, addr, len, out hash); }
        finally { buffer.Return(); }
    }

    /// <inheritdoc/>
    public long MemWrite(IProcessSyscalls target, ulong addr, ulong len, uint seed)
    {
        var buffer = new ProcMemBuffer(Of(target).Process);
        try { return ProcMemCopy.Write(ref buffer, addr, len, seed); }
        finally { buffer.Return(); }
    }

    private ModelSyscalls Of(IProcessSyscalls target) =>
        target as ModelSyscalls is { } m && m.Kernel == Kernel ? m : throw new ArgumentException("the target runs on another machine", nameof(target));

    // The runner's buffer for /proc/<pid>/mem: a pooled array; each Copy is one pread or pwrite.
    private struct ProcMemBuffer(Process target) : ISelfCopyBuffer
    {
        private byte[]? _bytes;

        private byte[] Bytes => _bytes ??= ArrayPool<byte>.Shared.Rent(MemChunk);

        public readonly int ChunkSize => MemChunk;

        public void Generate(uint seed, ulong offset, int n) => FillPattern.Generate(seed, offset, Bytes.AsSpan(0, n));

        public long Copy(ulong remote, int n, bool write) =>
            write ? Syscalls.ProcMemWrite(target, remote, Bytes.AsSpan(0, n)) : Syscalls.ProcMemRead(target, remote, Bytes.AsSpan(0, n));

        public ulong Hash(ulong hash, int n) => Fnv1a64.Append(hash, Bytes.AsSpan(0, n));

        public void Return()
        {
            if (_bytes != null) ArrayPool<byte>.Shared.Return(_bytes);
            _bytes = null;
        }
    }
}
