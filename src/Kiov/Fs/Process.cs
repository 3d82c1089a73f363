using Kiov.Mm;

namespace Kiov.Fs;

/// <summary>
/// A process (<c>task_struct</c> with its <c>mm</c> and <c>files</c>): an address space and a
/// table of open files. The system calls live in <see cref="Syscalls"/> and take the process.
/// </summary>
public sealed class Process : IDisposable
{
    internal Process(Kernel kernel, int pid)
    {
        Kernel = kernel;
        Pid = pid;
        Mm = new AddressSpace(kernel.Space);
    }

    /// <summary>The machine.</summary>
    public Kernel Kernel { get; }

    /// <summary>The process id.</summary>
    public int Pid { get; }

    /// <summary>The address space (<c>current->mm</c>).</summary>
    public AddressSpace Mm { get; }

    /// <summary>The open files (<c>current->files</c>).</summary>
    public FdTable Files { get; } = new();

    private bool _disposed;

    /// <summary><c>do_exit</c>: closes every file, then tears the address space down.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Files.CloseAll();
        Mm.Dispose();
        Kernel.Forget(this);
    }
}
