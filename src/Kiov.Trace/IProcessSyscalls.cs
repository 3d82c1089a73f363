using Kiov.Iov;

namespace Kiov.Trace;

/// <summary>
/// A back end that can run a trace's processes (docs/trace-format.md, version 2, "Processes"): one object per
/// process, the first made by the runner's caller, every other by <see cref="Fork"/> on its parent.
/// Every call returns what the system call returns: a non-negative result or <c>-errno</c>.
/// </summary>
internal interface IProcessSyscalls : ISyscalls
{
    /// <summary>True once <see cref="Exit"/> ran: the process has no memory and no files left.</summary>
    bool HasExited { get; }

    /// <summary><c>fork()</c> in this process: the child's back end, or null with <paramref name="error"/>
    /// set to the <c>-errno</c> fork gave.</summary>
    IProcessSyscalls? Fork(out long error);

    /// <summary><c>_exit()</c>: closes the process's fds and tears down its address space; the object
    /// stays, as a process without memory, for <c>target</c>s that name it.</summary>
    long Exit();

    /// <summary><c>process_vm_readv(target, local, remote, 0)</c>.</summary>
    long ProcessVmReadv(IProcessSyscalls target, ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote);

    /// <summary><c>process_vm_writev(target, local, remote, 0)</c>.</summary>
    long ProcessVmWritev(IProcessSyscalls target, ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote);

    /// <summary>The trace's <c>mem_read</c>: <c>pread()</c> on <c>/proc/&lt;target&gt;/mem</c> at offset
    /// <paramref name="addr"/>; the bytes read, with their FNV-1a 64 in <paramref name="hash"/>.</summary>
    long MemRead(IProcessSyscalls target, ulong addr, ulong len, out ulong hash);

    /// <summary>The trace's <c>mem_write</c>: <c>pwrite()</c> of the fill pattern of
    /// <paramref name="seed"/> on <c>/proc/&lt;target&gt;/mem</c> at offset <paramref name="addr"/>.</summary>
    long MemWrite(IProcessSyscalls target, ulong addr, ulong len, uint seed);
}
