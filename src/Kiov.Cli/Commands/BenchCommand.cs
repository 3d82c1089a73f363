using System.CommandLine;
using System.Diagnostics;
using Kiov.Fs;
using Kiov.Gup;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Trace;

namespace Kiov.Cli.Commands;

/// <summary>
/// <c>kiov bench</c>: the same system-call workloads on the model and on the host kernel in one run,
/// through the one <see cref="ISyscalls"/> interface, side by side; then the model's own primitives
/// that the host does not expose to a user (pinning, user copies). Times are wall-clock medians of
/// several rounds: a figure to compare, not a test.
/// </summary>
public static class BenchCommand
{
    private const ulong Src = TraceArena.Start, Dst = TraceArena.Start + 0x1000_0000;

    /// <summary>Builds the <c>bench</c> command.</summary>
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Fewer rounds (for a smoke test)" };
        var command = new Command("bench", "Run system-call workloads on the model and on the host kernel side by side") { quick };
        command.SetAction(parse => ExitCodes.Guard(parse.InvocationConfiguration.Error,
            () => Run(parse.InvocationConfiguration.Output, parse.GetValue(quick))));
        return command;
    }

    /// <summary>A workload: sets up on a back end, then runs one round of <see cref="Bytes"/> bytes.</summary>
    private sealed record Workload(string Name, long Bytes, Action<ISyscalls> Setup, Action<ISyscalls> Round);

    /// <summary>Runs every workload on both back ends and prints the table; returns the exit status.</summary>
    public static int Run(TextWriter output, bool quick)
    {
        int rounds = quick ? 3 : 15;
        output.WriteLine($"kiov bench: {rounds} rounds each, median; model = Kiov's kernel, host = Linux {KernelRelease.Current} via libc, same calls");
        output.WriteLine($"{"workload",-44} {"model",12} {"host",12} {"time model/host",16}");
        foreach (var w in Workloads())
        {
            double model = Measure(() => new ModelSyscalls(), w, rounds);
            double host = Measure(() => new HostSyscalls(), w, rounds);
            output.WriteLine($"{w.Name,-44} {Rate(w.Bytes, model),12} {Rate(w.Bytes, host),12} {model / host,15:F2}x");
        }
        output.WriteLine();
        output.WriteLine("model only (the host offers no user interface to these without debugfs):");
        foreach (var (name, perUnit, unit) in ModelOnly(quick))
            output.WriteLine($"{name,-44} {perUnit,10:F1} {unit}");
        output.WriteLine();
        output.WriteLine("the seed thread's proposals, per MiB (counted, not timed): calls into the API, page lists handed back, GUP calls, bytes allocated");
        foreach (string line in BatchComparison.Format(BatchComparison.Rows()))
            output.WriteLine(line);
        return ExitCodes.Ok;
    }

    private static IEnumerable<Workload> Workloads()
    {
        const int Rw = Prot.Read | Prot.Write, Anon = MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed;
        void Map(ISyscalls s, ulong len)
        {
            Check(s.Mmap(Src, len, Rw, Anon, -1, 0));
            Check(s.Mmap(Dst, len, Rw, Anon, -1, 0));
            Check(s.Fill(Src, len, 1));
            Check(s.Fill(Dst, len, 2));
        }
        yield return new("pipe: writev 64 KiB + readv 64 KiB", 64 << 10,
            s => { Map(s, 64 << 10); s.Pipe(out _, out _); },
            s => { Check(s.Writev(4, [new IoVec(Src, 64 << 10)])); Check(s.Readv(3, [new IoVec(Dst, 64 << 10)])); });
        yield return new("pipe: 16 x 4 KiB iovecs each way", 64 << 10,
            s => { Map(s, 64 << 10); s.Pipe(out _, out _); },
            s => { Check(s.Writev(4, Segments(Src, 16))); Check(s.Readv(3, Segments(Dst, 16))); });
        yield return new("pipe: vmsplice 64 KiB + read", 64 << 10,
            s => { Map(s, 64 << 10); s.Pipe(out _, out _); },
            s => { Check(s.Vmsplice(4, [new IoVec(Src, 64 << 10)])); Check(s.Read(3, Dst, 64 << 10)); });
        yield return new("memfd: pwritev 1 MiB + preadv 1 MiB", 1 << 20,
            s => { Map(s, 1 << 20); Check(s.Memfd()); },
            s => { Check(s.Pwritev(3, [new IoVec(Src, 1 << 20)], 0)); Check(s.Preadv(3, [new IoVec(Dst, 1 << 20)], 0)); });
        yield return new("process_vm_readv 4 MiB (self)", 4 << 20,
            s => Map(s, 4 << 20),
            s => Check(s.ProcessVmReadv([new IoVec(Dst, 4 << 20)], [new IoVec(Src, 4 << 20)])));
    }

    private static IoVec[] Segments(ulong start, int n) =>
        Enumerable.Range(0, n).Select(i => new IoVec(start + (ulong)i * 4096, 4096)).ToArray();

    private static void Check(long r)
    {
        if (r < 0) throw new InvalidOperationException($"a benchmark call failed with {r}");
    }

    private static double Measure(Func<ISyscalls> backend, Workload w, int rounds)
    {
        using ISyscalls s = backend();
        w.Setup(s);
        w.Round(s);
        var times = new double[rounds];
        int inner = Math.Max(1, (int)((16L << 20) / w.Bytes));
        for (int r = 0; r < rounds; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < inner; i++) w.Round(s);
            times[r] = Stopwatch.GetElapsedTime(t0).TotalSeconds / inner;
        }
        Array.Sort(times);
        return times[rounds / 2];
    }

    private static string Rate(long bytes, double seconds) => $"{bytes / seconds / 1e9:F2} GB/s";

    private static IEnumerable<(string, double, string)> ModelOnly(bool quick)
    {
        using var kernel = new Kernel(KernelConfig.Current, 64L << 20);
        Kiov.Fs.Process p = kernel.CreateProcess();
        const int Pages = 1024;
        Syscalls.Mmap(p, Src, Pages * 4096UL, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.Populate, -1, 0);
        var pages = new Page[Pages];
        int reps = quick ? 20 : 200;
        foreach (int batch in new[] { 1, 16, 1024 })
        {
            for (int i = 0; i < Pages; i += batch) // warm up the JIT and the caches
                UserPages.UnpinUserPages(kernel.Space, pages.AsSpan(0, UserPages.PinUserPagesFast(p.Mm, Src + (ulong)i * 4096, batch, Foll.Write, pages)));
            long t0 = Stopwatch.GetTimestamp();
            for (int rep = 0; rep < reps; rep++)
                for (int i = 0; i < Pages; i += batch)
                {
                    int got = UserPages.PinUserPagesFast(p.Mm, Src + (ulong)i * 4096, batch, Foll.Write, pages);
                    UserPages.UnpinUserPages(kernel.Space, pages.AsSpan(0, got));
                }
            double ns = Stopwatch.GetElapsedTime(t0).TotalNanoseconds / (reps * (double)Pages);
            yield return ($"pin_user_pages_fast + unpin, {batch} page(s)/call", ns, "ns/page");
        }
        var buffer = new byte[Pages * 4096];
        long c0 = Stopwatch.GetTimestamp();
        for (int rep = 0; rep < reps / 4 + 1; rep++) Uaccess.UserAccess.CopyToUser(p.Mm, Src, buffer);
        double secs = Stopwatch.GetElapsedTime(c0).TotalSeconds / (reps / 4 + 1);
        yield return ("copy_to_user 4 MiB", buffer.Length / secs / 1e9, "GB/s");
        p.Dispose();
    }
}
