namespace Kiov.Abi;

/// <summary><c>SPLICE_F_*</c>: the flags of splice, tee and vmsplice, from include/linux/splice.h (user
/// space has them from the C library's fcntl.h).</summary>
public static class SpliceFlags
{
    /// <summary><c>SPLICE_F_MOVE</c> = 0x01: move pages instead of copying (a hint, ignored).</summary>
    public const uint Move = 0x01;
    /// <summary><c>SPLICE_F_NONBLOCK</c> = 0x02: do not block on the pipe.</summary>
    public const uint NonBlock = 0x02;
    /// <summary><c>SPLICE_F_MORE</c> = 0x04: more data follows.</summary>
    public const uint More = 0x04;
    /// <summary><c>SPLICE_F_GIFT</c> = 0x08: vmsplice gives the pages away.</summary>
    public const uint Gift = 0x08;
    /// <summary><c>SPLICE_F_ALL</c> = 0x0f (include/linux/splice.h): every flag above.</summary>
    public const uint All = Move | NonBlock | More | Gift;
}
