using CsCheck;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Iov;

/// <summary>
/// Every kind against a plain model: the iterator's bytes laid end to end in one flat array, a cursor
/// and a count. Random sequences of copy, zero, advance, revert, truncate and reexpand must leave the
/// count, the position and the bytes exactly where the model leaves them.
/// </summary>
public class IovIterPropertyTests
{
    private const int PageSize = PageGeometry.PageSize;
    private const ulong A = KernelFixture.Arena;

    public enum Op { CopyTo, CopyFrom, Zero, Advance, Revert, Truncate, Reexpand }

    public sealed record Case(IterType Kind, bool Source, int[] Lens, int[] Offs, (Op Op, int N)[] Ops);

    private static readonly IterType[] Kinds =
        [IterType.Ubuf, IterType.Iovec, IterType.Kvec, IterType.Bvec, IterType.Xarray, IterType.FolioQ, IterType.Managed, IterType.Discard];

    private static readonly Gen<Case> Cases =
        Gen.Select(
            Gen.Int[0, Kinds.Length - 1].Select(i => Kinds[i]),
            Gen.Bool,
            Gen.Int[0, 3].SelectMany(z => z == 0 ? Gen.Const(0) : Gen.Int[1, 6000]).Array[1, 7],
            Gen.Int[0, PageSize - 1].Array[7],
            Gen.Select(Gen.Enum<Op>(), Gen.Int[0, 9000]).Array[1, 25],
            (kind, source, lens, offs, ops) => new Case(kind, kind != IterType.Discard && source, lens, offs, ops));

    // A built iterator: where its bytes are, read back in order, and its position in the flat order.
    private sealed class Built
    {
        public IovIter Iter;
        public required Func<byte[]> ReadAll;
        public required Func<IovIter, ulong?> FlatPos;
        public required Action Release;
        public ulong Total;
    }

    [Fact]
    public void EveryKindMatchesTheFlatModelUnderRandomOperations() =>
        Cases.Sample(RunCase, iter: 300, threads: 1);

    private static void RunCase(Case c)
    {
        using var k = new KernelFixture(KernelConfig.Current, 8L << 20);
        Built b = Build(k, c);
        try
        {
            var model = b.ReadAll();
            ulong pos = 0, count = b.Total;
            var rnd = new Random(c.Lens.Length * 7919 + c.Ops.Length);
            foreach (var (op, n0) in c.Ops)
            {
                ulong n = (ulong)n0;
                switch (op)
                {
                    case Op.CopyTo when !c.Source:
                    {
                        var src = new byte[n];
                        rnd.NextBytes(src);
                        ulong done = b.Iter.CopyToIter(src);
                        ulong want = Math.Min(n, count);
                        Assert.Equal(want, done);
                        if (c.Kind != IterType.Discard) src.AsSpan(0, (int)want).CopyTo(model.AsSpan((int)pos));
                        pos += want; count -= want;
                        break;
                    }
                    case Op.CopyFrom when c.Source:
                    {
                        var dst = new byte[n];
                        ulong done = b.Iter.CopyFromIter(dst);
                        ulong want = Math.Min(n, count);
                        Assert.Equal(want, done);
                        Assert.True(dst.AsSpan(0, (int)want).SequenceEqual(model.AsSpan((int)pos, (int)want)));
                        pos += want; count -= want;
                        break;
                    }
                    case Op.CopyTo:
                    case Op.CopyFrom:
                        Assert.Equal(0UL, op == Op.CopyTo ? b.Iter.CopyToIter(new byte[n]) : b.Iter.CopyFromIter(new byte[n]));
                        break;
                    case Op.Zero when !c.Source:
                    {
                        ulong want = Math.Min(n, count);
                        Assert.Equal(want, b.Iter.Zero(n));
                        if (c.Kind != IterType.Discard) model.AsSpan((int)pos, (int)want).Clear();
                        pos += want; count -= want;
                        break;
                    }
                    case Op.Zero:
                        break;
                    case Op.Advance:
                    {
                        ulong want = Math.Min(n, count);
                        Assert.Equal(want, b.Iter.Advance(n));
                        pos += want; count -= want;
                        break;
                    }
                    case Op.Revert:
                    {
                        ulong back = Math.Min(n, pos);
                        b.Iter.Revert(back);
                        pos -= back; count += back;
                        break;
                    }
                    case Op.Truncate:
                        b.Iter.Truncate(n);
                        count = Math.Min(count, n);
                        break;
                    case Op.Reexpand:
                        count = Math.Min(n, b.Total - pos);
                        b.Iter.Reexpand(count);
                        break;
                }
                Assert.Equal(count, b.Iter.Count);
                ulong? at = b.FlatPos(b.Iter);
                if (at != null) Assert.Equal(pos, at.Value);
            }
            Assert.True(model.AsSpan().SequenceEqual(b.ReadAll()), "memory differs from the model");
        }
        finally { b.Release(); }
    }

    private static Built Build(KernelFixture k, Case c)
    {
        int[] lens = c.Lens, offs = c.Offs;
        ulong total = 0;
        foreach (int l in lens) total += (ulong)l;
        int nseg = lens.Length;
        ulong? SegPos(IovIter it) { ulong p = 0; for (int s = 0; s < it.SegmentIndex; s++) p += (ulong)lens[s]; return p + it.IovOffset; }
        var rnd = new Random((int)total);
        switch (c.Kind)
        {
            case IterType.Ubuf:
            case IterType.Iovec:
            {
                k.MapAnon(A, (ulong)nseg * 0x4000);
                var iov = new IoVec[nseg];
                for (int s = 0; s < nseg; s++) iov[s] = new IoVec(A + (ulong)s * 0x4000 + (ulong)offs[s] % 0x1000, (ulong)lens[s]);
                Fill(k, iov, rnd);
                bool ubuf = c.Kind == IterType.Ubuf;
                if (ubuf) { iov = [new IoVec(A + (ulong)offs[0], total)]; k.MapAnon(A, (ulong)offs[0] + total + 1); Fill(k, iov, rnd); }
                return new Built
                {
                    Iter = ubuf ? IovIter.Ubuf(c.Source, k.Mm, iov[0].Base, total) : IovIter.Init(c.Source, k.Mm, iov, nseg, total),
                    Total = total,
                    ReadAll = () => ReadUser(k, iov),
                    FlatPos = ubuf ? it => it.IovOffset : SegPos,
                    Release = () => { },
                };
            }
            case IterType.Kvec:
            {
                var pages = new Page[nseg * 3];
                for (int i = 0; i < pages.Length; i++) pages[i] = k.Memory.Alloc(PageOwner.KernelBuffer);
                ulong vbase = k.Kernel.Vmap(pages);
                var kvec = new IoVec[nseg];
                for (int s = 0; s < nseg; s++) kvec[s] = new IoVec(vbase + (ulong)s * 3 * PageSize + (ulong)offs[s] % 2048, (ulong)lens[s]);
                foreach (var p in pages) rnd.NextBytes(k.Memory.Span(p));
                return new Built
                {
                    Iter = IovIter.Kvec(c.Source, k.Kernel, kvec, nseg, total),
                    Total = total,
                    ReadAll = () => ReadKernel(k, kvec),
                    FlatPos = SegPos,
                    Release = () => { k.Kernel.Vunmap(vbase, pages.Length); foreach (var p in pages) k.Memory.Put(p); },
                };
            }
            case IterType.Bvec:
            {
                var bvec = new BioVec[nseg];
                for (int s = 0; s < nseg; s++)
                {
                    Page run = k.Memory.AllocContiguous(3, PageOwner.KernelBuffer);
                    for (int i = 0; i < 3; i++) rnd.NextBytes(k.Memory.Span(run.Nth(i)));
                    bvec[s] = new BioVec(run, (uint)lens[s], (uint)(offs[s] % 2048));
                }
                return new Built
                {
                    Iter = IovIter.Bvec(c.Source, k.Kernel, bvec, nseg, total),
                    Total = total,
                    ReadAll = () => bvec.SelectMany(bv => bv.AsSpan(k.Memory).ToArray()).ToArray(),
                    FlatPos = SegPos,
                    Release = () => { foreach (var bv in bvec) for (int i = 0; i < 3; i++) k.Memory.Put(bv.Page.Nth(i)); },
                };
            }
            case IterType.Xarray:
            {
                var cache = new PageCache(k.Memory);
                long start = offs[0] + PageSize * (offs[1] % 3);
                long last = (start + (long)total) >> PageGeometry.PageShift;
                for (long i = start >> PageGeometry.PageShift; i <= last; i++)
                {
                    Page p = cache.FindOrCreate(i);
                    rnd.NextBytes(k.Memory.Span(p));
                    k.Memory.Put(p);
                }
                byte[] Read()
                {
                    var all = new byte[total];
                    for (ulong j = 0; j < total; j++)
                    {
                        long at = start + (long)j;
                        all[j] = k.Memory.Span(cache.Find(at >> PageGeometry.PageShift))[(int)(at & (PageSize - 1))];
                    }
                    return all;
                }
                return new Built
                {
                    Iter = IovIter.XarrayOf(c.Source, k.Kernel, cache, start, total),
                    Total = total,
                    ReadAll = Read,
                    FlatPos = it => it.IovOffset,
                    Release = () => cache.RemoveFrom(0),
                };
            }
            case IterType.FolioQ:
            {
                // Folios of order 0 or 1 in segments of three slots, so walks hop segments often.
                var head = new FolioQueue(3);
                FolioQueue tail = head;
                var folios = new List<(Page, int)>();
                ulong room = 0;
                for (int s = 0; room < total + (ulong)offs[0] || folios.Count == 0; s++)
                {
                    int order = offs[s % offs.Length] & 1;
                    Page f = k.Memory.AllocContiguous(1 << order, PageOwner.KernelBuffer);
                    for (int i = 0; i < 1 << order; i++) rnd.NextBytes(k.Memory.Span(f.Nth(i)));
                    if (tail.IsFull) tail = tail.Extend(3);
                    tail.Append(f, order);
                    folios.Add((f, order));
                    room += (ulong)PageSize << order;
                }
                ulong offset = (ulong)offs[0] % ((ulong)PageSize << folios[0].Item2);
                byte[] flat() => folios.SelectMany(f => Enumerable.Range(0, 1 << f.Item2).SelectMany(i => k.Memory.Span(f.Item1.Nth(i)).ToArray())).ToArray();
                ulong? FolioPos(IovIter it)
                {
                    ulong p = 0;
                    for (FolioQueue q = head; q != it.FolioQueue; q = q.Next!) for (int s = 0; s < q.Count; s++) p += q.FolioSize(s);
                    for (int s = 0; s < it.FolioqSlot; s++) p += it.FolioQueue!.FolioSize(s);
                    return p + it.IovOffset - offset;
                }
                return new Built
                {
                    Iter = IovIter.FolioQueueOf(c.Source, k.Kernel, head, 0, offset, total),
                    Total = total,
                    ReadAll = () => flat().AsSpan((int)offset, (int)total).ToArray(),
                    FlatPos = FolioPos,
                    Release = () => { foreach (var (f, order) in folios) for (int i = 0; i < 1 << order; i++) k.Memory.Put(f.Nth(i)); },
                };
            }
            case IterType.Managed:
            {
                var segs = lens.Select(l => { var a = new byte[l + 16]; rnd.NextBytes(a); return new Memory<byte>(a, 8, l); }).ToArray();
                return new Built
                {
                    Iter = IovIter.Managed(c.Source, segs, nseg, total),
                    Total = total,
                    ReadAll = () => segs.SelectMany(m => m.ToArray()).ToArray(),
                    FlatPos = SegPos,
                    Release = () => { },
                };
            }
            default:
                return new Built { Iter = IovIter.Discard(total), Total = total, ReadAll = () => new byte[total], FlatPos = _ => null, Release = () => { } };
        }
    }

    private static void Fill(KernelFixture k, IoVec[] iov, Random rnd)
    {
        foreach (var v in iov)
        {
            var b = new byte[v.Len];
            rnd.NextBytes(b);
            Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, v.Base, b));
        }
    }

    private static byte[] ReadUser(KernelFixture k, IoVec[] iov) => iov.SelectMany(v =>
    {
        var b = new byte[v.Len];
        Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, b, v.Base));
        return b;
    }).ToArray();

    private static unsafe byte[] ReadKernel(KernelFixture k, IoVec[] kvec) => kvec.SelectMany(v =>
    {
        var b = new byte[v.Len];
        for (ulong j = 0; j < v.Len; j++) { Assert.True(k.Kernel.TryTranslate(v.Base + j, out byte* p, out _)); b[j] = *p; }
        return b;
    }).ToArray();

    // ---- faults: user-backed iterators over address spaces with holes and read-only pages ----

    public sealed record FaultCase(bool Source, int[] PageProt, int[] Lens, int[] Offs, int[] Sizes);

    private const int FaultPages = 12;

    private static readonly Gen<FaultCase> FaultCases =
        Gen.Select(Gen.Bool, Gen.Int[0, 5].Array[FaultPages], Gen.Int[0, 9000].Array[1, 6], Gen.Int[0, FaultPages * PageSize - 1].Array[6], Gen.Int[0, 20000].Array[1, 5],
            (s, prot, lens, offs, sizes) => new FaultCase(s, prot, lens, offs, sizes));

    [Fact]
    public void UserCopiesStopAtTheFirstByteTheModelSaysFaults() => FaultCases.Sample(RunFaultCase, iter: 300, threads: 1);

    // Page kinds: 0 hole, 1 read-only, anything else read-write. A destination stops at the first byte in
    // a hole or a read-only page; a source only at a hole.
    private static void RunFaultCase(FaultCase c)
    {
        using var k = new KernelFixture(KernelConfig.Current, 8L << 20);
        k.MapAnon(A, FaultPages * PageSize);
        var seed = new byte[FaultPages * PageSize];
        new Random(c.Lens.Sum()).NextBytes(seed);
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A, seed));
        for (int p = 0; p < FaultPages; p++)
        {
            ulong at = A + (ulong)p * PageSize;
            if (c.PageProt[p] == 0) Assert.Equal(0, k.Mm.Munmap(at, PageSize));
            else if (c.PageProt[p] == 1) Assert.Equal(0, k.Mm.Mprotect(at, PageSize, Prot.Read));
        }
        bool Bad(ulong addr) { int p = (int)((addr - A) / PageSize); return c.PageProt[p] == 0 || (!c.Source && c.PageProt[p] == 1); }

        int nseg = c.Lens.Length;
        var iov = new IoVec[nseg];
        var flat = new List<ulong>(); // the user address of each byte, in iterator order
        for (int s = 0; s < nseg; s++)
        {
            ulong start = (ulong)c.Offs[s];
            ulong len = Math.Min((ulong)c.Lens[s], FaultPages * PageSize - start);
            iov[s] = new IoVec(A + start, len);
            for (ulong j = 0; j < len; j++) flat.Add(A + start + j);
        }
        var it = IovIter.Init(c.Source, k.Mm, iov, nseg, (ulong)flat.Count);
        int pos = 0;
        foreach (int size in c.Sizes)
        {
            int want = Math.Min(size, flat.Count - pos);
            int ok = 0;
            while (ok < want && !Bad(flat[pos + ok])) ok++;
            var buf = new byte[size];
            if (!c.Source) new Random(size).NextBytes(buf);
            ulong done = c.Source ? it.CopyFromIter(buf) : it.CopyToIter(buf);
            Assert.Equal((ulong)ok, done);
            for (int j = 0; j < ok; j++)
            {
                if (c.Source) Assert.Equal(seed[flat[pos + j] - A], buf[j]);
                else seed[flat[pos + j] - A] = buf[j];
            }
            pos += ok;
            Assert.Equal((ulong)(flat.Count - pos), it.Count);
            if (ok < want) break; // the iterator sits on the faulting byte; so does the model
        }
        // Whatever was written is in user memory, byte for byte, and nothing else moved.
        for (int p = 0; p < FaultPages; p++)
        {
            if (c.PageProt[p] == 0) continue;
            var got = new byte[PageSize];
            Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, got, A + (ulong)p * PageSize));
            Assert.True(got.AsSpan().SequenceEqual(seed.AsSpan(p * PageSize, PageSize)), $"page {p} differs");
        }
    }
}
