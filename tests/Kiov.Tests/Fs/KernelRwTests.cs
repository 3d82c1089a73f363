using Kiov.Fs;
using Kiov.Memory;
using Kiov.Uaccess;

namespace Kiov.Tests.Fs;

public class KernelRwTests
{
    /// <summary>A driver with only a plain <c>-&gt;write</c>, like st.c: it copies from the "user" pointer it is given.</summary>
    private sealed class PlainWriteDevice() : KFile(FMode.Write | FMode.CanWrite)
    {
        public byte[] Last = [];
        public override FileOps Ops => FileOps.Write;
        public override string Name => "plain-write-device";
        public override long Write(Process caller, ulong buf, ulong count, ref long pos)
        {
            var data = new byte[count];
            ulong left = UserAccess.CopyFromUser(caller.Mm, data, buf);
            if (left == count) return -Errno.EFAULT;
            Last = data[..(int)(count - left)];
            return (long)(count - left);
        }
    }

    [Fact]
    public void CurrentKernelWritesThroughAKvecAndRefusesPlainWriteFiles()
    {
        using var k = new FsFixture();
        Page buf = k.Kernel.Memory.Alloc(PageOwner.KernelBuffer);
        "kernel data"u8.CopyTo(k.Kernel.Memory.Span(buf));
        ulong kaddr = PhysicalMemory.KernelAddress(buf);
        var memfd = new MemfdFile(k.Kernel);
        long pos = 0;
        Assert.Equal(11L, KernelRw.KernelWrite(k.P, memfd, kaddr, 11, ref pos));
        Assert.Equal(11L, pos);
        var dev = new PlainWriteDevice();
        pos = 0;
        Assert.Equal(-Errno.EINVAL, KernelRw.KernelWrite(k.P, dev, kaddr, 11, ref pos));
        Assert.Empty(dev.Last);
        pos = 0;
        Assert.Equal(11L, KernelRw.KernelRead(k.P, memfd, kaddr + 100, 11, ref pos));
        Assert.Equal("kernel data"u8.ToArray(), k.Kernel.Memory.Span(buf).Slice(100, 11).ToArray());
        memfd.Put(); dev.Put();
        k.Kernel.Memory.Put(buf);
    }

    [Fact]
    public void KernelReadOfAWriteOnlyFileIsEinvalAndKernelWriteOfAReadOnlyOneEbadf()
    {
        // __kernel_read refuses a file without FMODE_READ with EINVAL (a WARN: the caller is wrong);
        // __kernel_write_iter refuses one without FMODE_WRITE with EBADF.
        using var k = new FsFixture();
        Page buf = k.Kernel.Memory.Alloc(PageOwner.KernelBuffer);
        ulong kaddr = PhysicalMemory.KernelAddress(buf);
        var (r, w) = Pipe.Create(k.Kernel.Memory, nonBlock: true);
        long pos = 0;
        Assert.Equal(-Errno.EINVAL, KernelRw.KernelRead(k.P, w, kaddr, 10, ref pos));
        Assert.Equal(-Errno.EBADF, KernelRw.KernelWrite(k.P, r, kaddr, 10, ref pos));
        r.Put(); w.Put();
        k.Kernel.Memory.Put(buf);
    }

    [Fact]
    public void SeedEraKernelWriteHandsTheKernelPointerToPlainWrite()
    {
        using var k = new FsFixture(KernelConfig.Linux2017);
        Page buf = k.Kernel.Memory.Alloc(PageOwner.KernelBuffer);
        "kernel data"u8.CopyTo(k.Kernel.Memory.Span(buf));
        ulong kaddr = PhysicalMemory.KernelAddress(buf);
        var dev = new PlainWriteDevice();
        long pos = 0;
        Assert.Equal(11L, KernelRw.KernelWrite(k.P, dev, kaddr, 11, ref pos)); // access_ok passed it under KERNEL_DS
        Assert.Equal("kernel data"u8.ToArray(), dev.Last);
        Assert.False(UserAccess.KernelDs);                                     // set_fs(old_fs) restored
        var memfd = new MemfdFile(k.Kernel);
        pos = 0;
        Assert.Equal(11L, KernelRw.KernelWrite(k.P, memfd, kaddr, 11, ref pos)); // write_iter got a KVEC (the 4.10 quirk)
        memfd.Put(); dev.Put();
        k.Kernel.Memory.Put(buf);
    }
}
