using Kiov.Memory;
using Kiov.Mm;

namespace Kiov.Fs;

/// <summary>
/// A whole modelled machine: physical memory, the kernel half of every address space, the
/// configuration (which kernel it behaves like), and the processes. What a test or a tool creates
/// first; disposing it ends every process.
/// </summary>
public sealed partial class Kernel : IDisposable
{
    private readonly List<Process> _processes = [];  // guarded by itself
    private int _nextPid = 100;

    /// <summary>Boots a machine with <paramref name="memoryBytes"/> of physical memory behaving like <paramref name="config"/>.</summary>
    public Kernel(KernelConfig? config = null, long memoryBytes = PhysicalMemory.DefaultSize)
        : this(new PhysicalMemory(memoryBytes), config ?? KernelConfig.Current) { }

    /// <summary>Boots a machine on <paramref name="memory"/>, such as
    /// <see cref="PhysicalMemory.OverCallerMemory"/> over an embedder's guest RAM, behaving like
    /// <paramref name="config"/> (<see cref="KernelConfig.Current"/> if null). The machine owns
    /// <paramref name="memory"/> from now on: disposing the machine disposes it (memory the caller
    /// owns stays the caller's to free).</summary>
    public static Kernel OnMemory(PhysicalMemory memory, KernelConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(memory);
        return new Kernel(memory, config ?? KernelConfig.Current);
    }

    private Kernel(PhysicalMemory memory, KernelConfig config)
    {
        Memory = memory;
        Space = new KernelSpace(Memory, config);
    }

    /// <summary>Physical memory.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>The kernel half (direct map, vmalloc) and the walker gate.</summary>
    public KernelSpace Space { get; }

    /// <summary>The behaviours in force.</summary>
    public KernelConfig Config => Space.Config;

    /// <summary>The pipe slots the machine's one user holds (<c>user_struct.pipe_bufs</c>).</summary>
    public PipeUserAccount PipeUser { get; } = new();

    /// <summary><c>ZERO_PAGE(0)</c>: the shared page of zeros that splice hands out for file holes.</summary>
    public Page ZeroPage => Space.ZeroPage;

    /// <summary>Creates a process with an empty address space and an empty fd table (<c>fork</c>+<c>exec</c>, reduced).</summary>
    public Process CreateProcess()
    {
        lock (_processes)
        {
            var p = new Process(this, _nextPid++);
            _processes.Add(p);
            return p;
        }
    }

    internal void Forget(Process p) { lock (_processes) _processes.Remove(p); }

    /// <summary>Ends every process (closing its files and tearing down its memory), then frees physical memory.</summary>
    public void Dispose()
    {
        ExitAllProcesses();
        Memory.Dispose();
    }

    /// <summary>Ends every process still running, children of fork included, newest first.</summary>
    public void ExitAllProcesses()
    {
        Process[] all;
        lock (_processes) all = [.. _processes];
        for (int i = all.Length - 1; i >= 0; i--) all[i].Dispose();
    }

    /// <summary>Frames still allocated that are not the kernel's own: empty when nothing leaked.</summary>
    public IReadOnlyList<FrameLeak> LeakReport() => Memory.LeakReport();
}
