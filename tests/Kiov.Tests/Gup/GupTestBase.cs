using Kiov.Gup;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Gup;

/// <summary>Helpers shared by the GUP tests: populated mappings, PTE frames, pin bookkeeping.</summary>
public static class GupTestHelpers
{
    public const ulong A = KernelFixture.Arena;
    public const int P = KernelFixture.PageSize;
    public const int RW = Prot.Read | Prot.Write;

    /// <summary>Maps <paramref name="pages"/> anonymous pages at <see cref="A"/> and writes byte
    /// <paramref name="fill"/> into each, so every page is present.</summary>
    public static void MapFilled(KernelFixture k, int pages, byte fill = 0xa5, ulong at = A)
    {
        k.MapAnon(at, (ulong)pages * P);
        var data = new byte[pages * P];
        data.AsSpan().Fill(fill);
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, at, data));
    }

    /// <summary>The page the PTE of <paramref name="addr"/> maps now.</summary>
    public static Page Mapped(KernelFixture k, ulong addr) => new(Pte.Pfn(k.Mm.ReadPte(addr)));

    /// <summary>Unpins the first <paramref name="n"/> pages (a no-op for a negative count).</summary>
    public static void Unpin(KernelFixture k, Page[] pages, long n)
    {
        if (n > 0) UserPages.UnpinUserPages(k.Kernel, pages.AsSpan(0, (int)n));
    }

    /// <summary>Puts the first <paramref name="n"/> FOLL_GET pages.</summary>
    public static void Put(KernelFixture k, Page[] pages, long n)
    {
        if (n > 0) UserPages.PutPages(k.Memory, pages.AsSpan(0, (int)n));
    }
}
