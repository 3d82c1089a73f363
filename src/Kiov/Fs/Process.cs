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
        Files = new FdTable();
    }

    // A child of fork: its address space and fd table were copied from the parent's.
    internal Process(Kernel kernel, int pid, AddressSpace mm, FdTable files)
    {
        Kernel = kernel;
        Pid = pid;
        Mm = mm;
        Files = files;
    }

    /// <summary>The machine.</summary>
    public Kernel Kernel { get; }

    /// <summary>The process id.</summary>
    public int Pid { get; }

    /// <summary>The address space (<c>current->mm</c>).</summary>
    public AddressSpace Mm { get; }

    /// <summary>The open files (<c>current->files</c>).</summary>
    public FdTable Files { get; }

    private int _disposed;

    /// <summary>True once the process has exited (<see cref="Dispose"/>).</summary>
    public bool HasExited => Volatile.Read(ref _disposed) != 0;

    /// <summary><c>do_exit</c>: closes every file (<c>exit_files</c>), then tears the address space down
    /// (<c>exit_mm</c>). Pages a pipe still references outlive it, each freed when the pipe lets go.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Files.CloseAll();
        Mm.Dispose();
        Kernel.Forget(this);
    }
}
