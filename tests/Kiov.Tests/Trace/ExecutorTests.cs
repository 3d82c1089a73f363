using System.Diagnostics;
using Kiov.Cli;
using Kiov.Trace;

namespace Kiov.Tests.Trace;

/// <summary>The host back end's executor (kiov-exec): a process of its own that makes the trace's
/// system calls; its death is reported, never taken for a kernel result, and leaves nothing behind.</summary>
public class ExecutorTests
{
    private const string MapOnePage =
        "{\"op\":\"mmap\",\"addr\":\"0x100000000000\",\"len\":4096,\"prot\":\"rw\",\"flags\":[\"private\",\"anonymous\",\"fixed\"]}";

    private static bool Alive(int pid) => Directory.Exists($"/proc/{pid}");

    [Fact]
    public void An_executor_that_dies_mid_trace_throws_naming_the_call_and_leaves_no_process()
    {
        // Requests: getpid (made by HostSyscalls), mmap, fill, then the hash that it dies on.
        var kernel = new ExecutorHostKernel(faultAfter: 4);
        int pid = kernel.Pid;
        using (var host = new HostSyscalls(kernel))
        {
            Assert.Equal((long)TraceArena.Start, host.Mmap(TraceArena.Start, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0));
            Assert.Equal(4096, host.Fill(TraceArena.Start, 4096, 1));
            var e = Assert.Throws<HostExecutorException>(() => host.Hash(TraceArena.Start, 4096, out _));
            Assert.Equal($"the host-side process kiov-exec (pid {pid}) died (killed by signal 9) during hash", e.Message);
            Assert.Throws<HostExecutorException>(() => host.Pipe(out _, out _));
        }
        Assert.False(Alive(pid));
    }

    [Fact]
    public void An_executor_killed_from_outside_is_reported_at_the_next_call()
    {
        var kernel = new ExecutorHostKernel();
        using var host = new HostSyscalls(kernel);
        Assert.Equal(0, host.Pipe(out _, out _));
        Assert.Equal(0, HostLibc.Call(SyscallNumbers.Kill, kernel.Pid, Signal.Kill));
        var e = Assert.Throws<HostExecutorException>(() => host.Munmap(TraceArena.Start, 4096));
        Assert.Equal($"the host-side process kiov-exec (pid {kernel.Pid}) died (killed by signal 9) during munmap", e.Message);
    }

    [Fact]
    public async Task Kiov_replay_with_an_executor_killed_mid_trace_exits_3_with_one_line_and_leaves_nothing_behind()
    {
        string scratch = Path.Combine(Path.GetTempPath(), $"kiov-exec-fault-{Guid.NewGuid():N}");
        Directory.CreateDirectory(scratch);
        try
        {
            var info = HostChild.StartInfo("replay", "--host", "-");
            info.Environment[ExecutorHostKernel.FaultAfterVariable] = "4";
            info.Environment["TMPDIR"] = scratch;
            info.WorkingDirectory = scratch;
            using var child = Process.Start(info)!;
            child.StandardInput.Write(MapOnePage + "\n{\"op\":\"fill\",\"addr\":\"0x100000000000\",\"len\":4096,\"seed\":1}\n"
                + "{\"op\":\"pipe\"}\n{\"op\":\"close\",\"fd\":3}\n");
            child.StandardInput.Close();
            var stdout = child.StandardOutput.ReadToEndAsync();
            string stderr = await child.StandardError.ReadToEndAsync();
            await child.WaitForExitAsync();
            Assert.Equal(3, child.ExitCode);
            Assert.Equal("{\"ret\":17592186044416}\n{\"ret\":4096}\n", await stdout);
            // Beside the host settings line every host runner prints at start (docs/trace-format.md "Host settings"),
            // the failure is one line.
            string[] lines = stderr.TrimEnd('\n').Split('\n').Where(l => !l.StartsWith(Kiov.Tests.Cli.KiovProcess.Result.HostSettingsLine, StringComparison.Ordinal)).ToArray();
            Assert.Single(lines);
            Assert.Matches(@"^kiov: the host-side process kiov-exec \(pid \d+\) died \(killed by signal 9\) during pipe2$", lines[0]);
            int pid = int.Parse(lines[0].Split("(pid ")[1].Split(')')[0]);
            Assert.False(Alive(pid));
            Assert.Empty(Directory.GetFileSystemEntries(scratch));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void A_missing_executor_is_one_line_and_exit_3()
    {
        var stderr = new StringWriter();
        int exit = ExitCodes.Guard(stderr, () =>
        {
            using var kernel = new ExecutorHostKernel(executable: "/nonexistent/kiov-exec");
            return 0;
        });
        Assert.Equal(3, exit);
        Assert.Equal("kiov: the host back end is unavailable: /nonexistent/kiov-exec was not built (no C compiler, cc, was found when kiov was built)\n",
            stderr.ToString());
    }

    [Fact]
    public void Reset_closes_the_traces_fds_and_gives_back_a_fresh_arena()
    {
        using var kernel = new ExecutorHostKernel();
        int fdsAtStart = Directory.GetFiles($"/proc/{kernel.Pid}/fd").Length;
        using (var host = new HostSyscalls(kernel, ownsKernel: false))
        {
            Assert.Equal((long)TraceArena.Start, host.Mmap(TraceArena.Start, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0));
            Assert.Equal(4096, host.Fill(TraceArena.Start, 4096, 9));
            Assert.Equal(0, host.Pipe(out _, out _));
            Assert.Equal(5, host.Memfd());
            Assert.Equal(0, host.Munmap(TraceArena.Start + 4096, 8192));
        }
        Assert.Equal(fdsAtStart + 3, Directory.GetFiles($"/proc/{kernel.Pid}/fd").Length);
        Assert.Equal(0, kernel.Reset());
        Assert.Equal(fdsAtStart, Directory.GetFiles($"/proc/{kernel.Pid}/fd").Length);
        using var again = new HostSyscalls(kernel, ownsKernel: false);
        Assert.Equal(-Errno.EFAULT, again.Hash(TraceArena.Start, 4096, out _)); // PROT_NONE again
        string[] maps = File.ReadAllLines($"/proc/{kernel.Pid}/maps");
        Assert.Contains(maps, l => l.StartsWith("100000000000-100040000000 ---p", StringComparison.Ordinal)); // one piece again
        Assert.Contains(maps, l => l.StartsWith("100040000000-100040001000 ---s", StringComparison.Ordinal) && l.Contains("kiov-guard"));
    }

    [Fact]
    public void A_forked_executor_has_a_copy_of_the_arena_and_a_channel_of_its_own()
    {
        using var parent = new ExecutorHostKernel();
        var host = new HostSyscalls(parent, ownsKernel: false);
        Assert.Equal((long)TraceArena.Start, host.Mmap(TraceArena.Start, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0));
        Assert.Equal(4096, host.Fill(TraceArena.Start, 4096, 3));
        Assert.Equal(4096, host.Hash(TraceArena.Start, 4096, out ulong before));

        long pid = parent.Fork(out ExecutorHostKernel? child);
        Assert.True(pid > 0);
        Assert.NotNull(child);
        using (child)
        {
            Assert.Equal(pid, child.Syscall(SyscallNumbers.Getpid));
            Assert.Equal(4096, child.Hash(TraceArena.Start, 4096, out ulong inChild));
            Assert.Equal(before, inChild);
            Assert.Equal(4096, child.Fill(TraceArena.Start, 4096, 4)); // copy-on-write: the parent keeps its bytes
            Assert.Equal(4096, parent.Hash(TraceArena.Start, 4096, out ulong after));
            Assert.Equal(before, after);
            child.Exit();
        }
        Assert.Equal(pid, parent.Syscall(SyscallNumbers.Wait4, pid, 0, 0, 0));
    }
}

/// <summary>The executor's THREAD_CHANNELS request: channels each served by a thread of the executor.</summary>
public class ExecutorThreadsTests
{
    private const ulong A = TraceArena.Start, B = TraceArena.Start + 4096;
    private const long Gettid = 186;

    // A blocking pipe (the threads may block) in the executor: its real fds.
    private static (long Read, long Write) BlockingPipe(ExecutorHostKernel kernel)
    {
        Assert.Equal(0, kernel.Syscall(SyscallNumbers.Pipe2, (long)kernel.ScratchAddress, 0));
        Span<int> fds = stackalloc int[2];
        kernel.ReadScratch(0, System.Runtime.InteropServices.MemoryMarshal.AsBytes(fds));
        return (fds[0], fds[1]);
    }

    [Fact]
    public void Each_channel_is_a_thread_of_the_executor_with_its_own_scratch_and_one_may_block_while_another_runs()
    {
        using var kernel = new ExecutorHostKernel();
        Assert.Equal((long)A, kernel.Syscall(SyscallNumbers.Mmap, (long)A, 8192, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0));
        var (r, w) = BlockingPipe(kernel);
        Assert.Equal(0, kernel.OpenThreadKernels(2, out ExecutorHostKernel[]? threads));
        Assert.NotNull(threads);
        long[] tids = new long[2];
        long read = 0, hashed = 0, filled = 0, wrote = 0;
        ulong hash = 0;
        byte[] own0 = new byte[64], own1 = new byte[64];
        try
        {
            Assert.NotEqual(threads[0].ScratchAddress, threads[1].ScratchAddress);
            Assert.NotEqual(kernel.ScratchAddress, threads[0].ScratchAddress);
            // Thread 0 reads the pipe before anything is in it and waits; thread 1 fills, then writes.
            var reader = new Thread(() =>
            {
                tids[0] = threads[0].Syscall(Gettid);
                threads[0].WriteScratch(0, Enumerable.Repeat((byte)0xa0, 64).ToArray());
                read = threads[0].Syscall(SyscallNumbers.Read, r, (long)A, 100);
                hashed = threads[0].Hash(A, 100, out hash);
                threads[0].ReadScratch(0, own0);
            });
            reader.Start();
            tids[1] = threads[1].Syscall(Gettid);
            threads[1].WriteScratch(0, Enumerable.Repeat((byte)0xb1, 64).ToArray());
            filled = threads[1].Fill(B, 100, 9);
            wrote = threads[1].Syscall(SyscallNumbers.Write, w, (long)B, 100);
            threads[1].ReadScratch(0, own1);
            Assert.True(reader.Join(TimeSpan.FromSeconds(60)));
            Assert.Equal(kernel.Pid, threads[0].Syscall(SyscallNumbers.Getpid)); // one process
        }
        finally
        {
            foreach (ExecutorHostKernel t in threads) t.Dispose();
        }
        byte[] pattern = new byte[100];
        FillPattern.Generate(9, 0, pattern);
        Assert.Equal((100L, 100L, 100L, 100L), (read, hashed, filled, wrote));
        Assert.Equal(Fnv1a64.Hash(pattern), hash);
        Assert.NotEqual(tids[0], tids[1]);
        Assert.All(tids, t => Assert.NotEqual(kernel.Pid, t));
        Assert.All(own0, b => Assert.Equal(0xa0, b));
        Assert.All(own1, b => Assert.Equal(0xb1, b));
        Assert.Equal(100, kernel.Hash(A, 100, out ulong after)); // the executor serves on once its threads end
        Assert.Equal(Fnv1a64.Hash(pattern), after);
    }

    [Fact]
    public void A_thread_stuck_in_a_call_is_given_up_with_the_executor()
    {
        var kernel = new ExecutorHostKernel();
        int pid = kernel.Pid;
        try
        {
            Assert.Equal((long)A, kernel.Syscall(SyscallNumbers.Mmap, (long)A, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0));
            var (r, _) = BlockingPipe(kernel);
            Assert.Equal(0, kernel.OpenThreadKernels(1, out ExecutorHostKernel[]? threads));
            Exception? stuck = null;
            var reader = new Thread(() =>
            {
                try { threads![0].Syscall(SyscallNumbers.Read, r, (long)A, 1); }
                catch (HostExecutorException e) { stuck = e; }
            });
            reader.Start();
            Assert.False(reader.Join(TimeSpan.FromMilliseconds(200))); // blocked in read(2): nothing was written
            kernel.GiveUp("a test's thread never returns");
            Assert.True(reader.Join(TimeSpan.FromSeconds(60)));
            Assert.IsType<HostExecutorException>(stuck);
            threads![0].Dispose();
            Assert.True(kernel.Lost);
            var e = Assert.Throws<HostExecutorException>(() => kernel.Syscall(SyscallNumbers.Getpid));
            Assert.Contains("a test's thread never returns", e.Message);
        }
        finally
        {
            kernel.Dispose();
        }
        Assert.False(Directory.Exists($"/proc/{pid}"));
    }

    [Fact]
    public void Host_thread_views_share_the_process_fd_table()
    {
        // Threads of one process share its fd table, as on Linux: a pipe one thread makes is the other's.
        using var host = new HostSyscalls();
        Assert.Equal((long)A, host.Mmap(A, 8192, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0));
        Assert.Equal(0, host.Pipe(out int r, out int w));
        using HostThreadGroup? group = host.OpenThreads(2);
        Assert.NotNull(group);
        Assert.Equal(0, group.Views[0].Pipe(out int r2, out int w2)); // opened by one thread...
        Assert.Equal(100, group.Views[1].Fill(B, 100, 3));
        Assert.Equal(100, group.Views[1].Write(w2, B, 100));          // ...used by the other
        Assert.Equal(100, group.Views[0].Read(r2, A, 100));
        Assert.Equal(0, group.Views[1].Close(r2));
        Assert.Equal(-Errno.EBADF, group.Views[0].Close(r2));                    // and closed for both
        Assert.Equal(0, group.Views[0].Close(w2));
        Assert.True(r < r2 && w < w2);
    }
}
