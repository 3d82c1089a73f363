namespace Kiov.Fs;

public sealed partial class Kernel
{
    /// <summary>
    /// <c>fork()</c> (<c>kernel_clone</c> → <c>copy_process</c>): a child of <paramref name="parent"/>
    /// with a copy of its address space (<see cref="Mm.AddressSpace.Fork"/>: private pages shared
    /// copy-on-write, shared mappings shared) and of its fd table (same numbers, same open files).
    /// Returns the child, or null when memory runs out (-ENOMEM), with nothing left behind.
    /// </summary>
    public Process? Fork(Process parent)
    {
        ArgumentNullException.ThrowIfNull(parent);
        if (parent.HasExited) throw new InvalidOperationException($"process {parent.Pid} has exited");
        Mm.AddressSpace? mm = parent.Mm.Fork();
        if (mm == null) return null;
        lock (_processes)
        {
            var child = new Process(this, _nextPid++, mm, parent.Files.Dup());
            _processes.Add(child);
            return child;
        }
    }
}
