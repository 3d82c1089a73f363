using Kiov.Memory;

namespace Kiov.Iov;

/// <summary>One element of an iovec array: the user-space <c>struct iovec</c> { iov_base, iov_len },
/// and, with a kernel address, <c>struct kvec</c>.</summary>
/// <param name="Base">The address (<c>iov_base</c>), as the 64-bit register carries it.</param>
/// <param name="Len">The length (<c>iov_len</c>, a <c>size_t</c>).</param>
public readonly record struct IoVec(ulong Base, ulong Len);

/// <summary>A piece of a page run (<c>struct bio_vec</c>): <paramref name="Len"/> bytes from
/// <paramref name="Offset"/> in <paramref name="Page"/>, which may run on into the following frames.</summary>
/// <param name="Page">The first page (<c>bv_page</c>).</param>
/// <param name="Len">The length (<c>bv_len</c>).</param>
/// <param name="Offset">The offset in the first page (<c>bv_offset</c>).</param>
public readonly record struct BioVec(Page Page, uint Len, uint Offset);

/// <summary>The kinds of iterator (<c>enum iter_type</c>, plus the 2016–2023 ITER_PIPE).</summary>
public enum IterType : byte
{
    /// <summary><c>ITER_UBUF</c>: one user buffer.</summary>
    Ubuf,
    /// <summary><c>ITER_IOVEC</c>: user segments.</summary>
    Iovec,
    /// <summary><c>ITER_BVEC</c>: page pieces.</summary>
    Bvec,
    /// <summary><c>ITER_KVEC</c>: kernel segments.</summary>
    Kvec,
    /// <summary><c>ITER_FOLIOQ</c>: a chained queue of folios.</summary>
    FolioQ,
    /// <summary><c>ITER_XARRAY</c>: pages of a page cache by index.</summary>
    Xarray,
    /// <summary><c>ITER_DISCARD</c>: a sink that drops what it is given.</summary>
    Discard,
    /// <summary><c>ITER_PIPE</c> (4.9 to 6.4): appends to a pipe's ring.</summary>
    Pipe,
}

/// <summary>Limits of the iovec interfaces (include/uapi/linux/uio.h, include/linux/fs.h).</summary>
public static class IovLimits
{
    /// <summary><c>UIO_FASTIOV</c>: segments a caller keeps on its stack.</summary>
    public const int FastIov = 8;
    /// <summary><c>UIO_MAXIOV</c>: the most segments one call takes.</summary>
    public const int MaxIov = 1024;
    /// <summary><c>MAX_RW_COUNT</c>: <c>INT_MAX &amp; PAGE_MASK</c>, the most bytes one call moves.</summary>
    public const ulong MaxRwCount = 0x7ffff000;
}
