using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Batch;

/// <summary>One batch as a consumer saw it.</summary>
internal sealed record SeenBatch(Page[] Pages, int Offset, ulong Bytes, BatchHold Hold, bool IsRun, bool LockHeld, byte[] Data);

/// <summary>
/// A consumer for tests: records every batch (its pages, the bytes behind them, whether an mmap lock was
/// held), takes at most <see cref="Budget"/> bytes in all, can keep the pins or references of the pages
/// it takes, can fail a given batch with an errno, and runs <see cref="OnBatch"/> (to munmap, fault or
/// map from inside the consumer) after reading each batch.
/// </summary>
internal struct Recorder(PhysicalMemory memory) : IPageBatchConsumer
{
    public readonly List<SeenBatch> Seen = [];
    public readonly List<Page> KeptPages = [];
    public ulong Budget = ulong.MaxValue;
    public ulong Taken;
    public bool Keep;
    public int FailBatch = -1;
    public long FailWith = -Errno.EAGAIN;
    public Action<int>? OnBatch;
    public Func<int, byte>? Fill; // destination walks: write this pattern (by byte index) into the pages

    public long Consume(scoped PageBatch b)
    {
        var pages = new Page[b.Count];
        b.CopyTo(pages);
        int index = Seen.Count;
        if (Fill != null)
        {
            ulong at = Taken;
            for (int i = 0; i < b.Count; i++)
            {
                Span<byte> s = memory.Span(pages[i]).Slice(i == 0 ? b.Offset : 0, b.LengthOf(i));
                for (int j = 0; j < s.Length; j++) s[j] = Fill((int)(at + (ulong)j));
                at += (ulong)s.Length;
            }
        }
        var data = new List<byte>();
        for (int i = 0; i < b.Count; i++) data.AddRange(memory.Span(pages[i]).Slice(i == 0 ? b.Offset : 0, b.LengthOf(i)).ToArray());
        Seen.Add(new SeenBatch(pages, b.Offset, b.Bytes, b.Hold, b.IsRun, MmapLock.HeldByCurrentThread, [.. data]));
        OnBatch?.Invoke(index);
        if (index == FailBatch) return FailWith;
        ulong take = Math.Min(b.Bytes, Budget - Taken);
        Taken += take;
        if (Keep && b.Hold != BatchHold.None)
        {
            int n = b.PagesFor(take);
            b.KeepPages(n);
            for (int i = 0; i < n; i++) KeptPages.Add(pages[i]);
        }
        return (long)take;
    }

    /// <summary>Everything the consumer took, in order.</summary>
    public readonly byte[] Bytes() => [.. Seen.SelectMany(s => s.Data).Take((int)Taken)];
}

internal static class BatchTestData
{
    public const int PageSize = PageGeometry.PageSize;
    public const ulong P = PageSize;
    public const ulong A = KernelFixture.Arena;

    public static byte[] Pattern(int n, int seed) { var b = new byte[n]; new Random(seed).NextBytes(b); return b; }

    /// <summary>Maps [addr, addr+len) and fills it with a seeded pattern; returns the pattern.</summary>
    public static byte[] MapFilled(KernelFixture k, ulong addr, int len, int seed, int prot = Prot.Read | Prot.Write)
    {
        ulong start = addr & PageGeometry.PageMask;
        ulong end = (addr + (ulong)len + PageSize - 1) & PageGeometry.PageMask;
        k.MapAnon(start, end - start);
        var data = Pattern(len, seed);
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, addr, data));
        if (prot != (Prot.Read | Prot.Write)) Assert.Equal(0, k.Mm.Mprotect(start, end - start, prot));
        return data;
    }

    /// <summary>The bytes an iovec array names, read back from user memory (holes read as nothing).</summary>
    public static byte[] UserBytes(KernelFixture k, IoVec[] iov)
    {
        var all = new List<byte>();
        foreach (var v in iov)
        {
            var b = new byte[v.Len];
            Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, b, v.Base));
            all.AddRange(b);
        }
        return [.. all];
    }

    /// <summary><paramref name="n"/> kernel pages no two of which are physically adjacent.</summary>
    public static Page[] ScatteredPages(PhysicalMemory mem, int n, int seed)
    {
        var got = new Page[2 * n];
        for (int i = 0; i < got.Length; i++) got[i] = mem.Alloc(PageOwner.KernelBuffer, zero: false);
        var keep = new Page[n];
        for (int i = 0; i < n; i++) keep[i] = got[2 * (n - 1 - i)];
        for (int i = 0; i < n; i++) mem.Put(got[2 * i + 1]);
        var rnd = new Random(seed);
        foreach (var p in keep) rnd.NextBytes(mem.Span(p));
        return keep;
    }

    public static ulong Sum(IoVec[] iov) => iov.Aggregate(0UL, (s, v) => s + v.Len);

    public static bool NoPagePinned(PhysicalMemory mem, IEnumerable<Page> pages) => pages.All(p => !mem.MaybeDmaPinned(p));
}
