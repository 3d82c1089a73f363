using Kiov.Fs;
using Kiov.Mm;
using Kiov.Uaccess;

namespace Kiov.Tests.Fs;

/// <summary>A small machine with one process; disposing it fails the test on a leaked frame.</summary>
public sealed class FsFixture : IDisposable
{
    public const ulong A = 0x1000_0000_0000;

    public FsFixture(KernelConfig? config = null)
    {
        Kernel = new Kernel(config, 64L << 20);
        P = Kernel.CreateProcess();
    }

    public Kernel Kernel { get; }
    public Process P { get; }

    public ulong Map(ulong addr, ulong len, int prot = Prot.Read | Prot.Write)
    {
        Assert.Equal((long)addr, Syscalls.Mmap(P, addr, len, prot, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0));
        return addr;
    }

    public void Poke(ulong addr, ReadOnlySpan<byte> bytes) => Assert.Equal(0UL, UserAccess.CopyToUser(P.Mm, addr, bytes));

    public byte[] Peek(ulong addr, int len)
    {
        var b = new byte[len];
        Assert.Equal(0UL, UserAccess.CopyFromUser(P.Mm, b, addr));
        return b;
    }

    public (int r, int w) Pipe(bool nonBlock = true)
    {
        Assert.Equal(0L, Syscalls.Pipe2(P, nonBlock ? OpenFlags.NonBlock : 0, out int r, out int w));
        return (r, w);
    }

    public Pipe PipeOf(int fd)
    {
        var f = P.Files.Get(fd)!;
        f.Put();
        return f.PipeInfo!;
    }

    public void Dispose()
    {
        P.Dispose();
        var leaks = Kernel.LeakReport();
        Kernel.Dispose();
        Assert.True(leaks.Count == 0, "leaked frames:\n" + string.Join("\n", leaks.Take(20)));
    }
}
