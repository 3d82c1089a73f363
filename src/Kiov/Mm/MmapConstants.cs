namespace Kiov.Mm;

/// <summary><c>PROT_*</c> values of mmap and mprotect (uapi/asm-generic/mman-common.h).</summary>
public static class Prot
{
    /// <summary><c>PROT_NONE</c>.</summary>
    public const int None = 0;
    /// <summary><c>PROT_READ</c>.</summary>
    public const int Read = 1;
    /// <summary><c>PROT_WRITE</c>.</summary>
    public const int Write = 2;
    /// <summary><c>PROT_EXEC</c>.</summary>
    public const int Exec = 4;
    /// <summary><c>PROT_SEM</c> (accepted and ignored on x86).</summary>
    public const int Sem = 8;
    /// <summary><c>PROT_GROWSDOWN</c>: mprotect extends to the start of a grows-down area.</summary>
    public const int GrowsDown = 0x01000000;
    /// <summary><c>PROT_GROWSUP</c>: no area grows up on x86 (EINVAL).</summary>
    public const int GrowsUp = 0x02000000;
}

/// <summary><c>MAP_*</c> flags of mmap.</summary>
public static class MapFlags
{
    /// <summary><c>MAP_SHARED</c>.</summary>
    public const int Shared = 0x01;
    /// <summary><c>MAP_PRIVATE</c>.</summary>
    public const int Private = 0x02;
    /// <summary><c>MAP_SHARED_VALIDATE</c>.</summary>
    public const int SharedValidate = 0x03;
    /// <summary><c>MAP_TYPE</c>: the mask of the three above.</summary>
    public const int TypeMask = 0x0f;
    /// <summary><c>MAP_FIXED</c>.</summary>
    public const int Fixed = 0x10;
    /// <summary><c>MAP_ANONYMOUS</c>.</summary>
    public const int Anonymous = 0x20;
    /// <summary><c>MAP_GROWSDOWN</c>.</summary>
    public const int GrowsDown = 0x0100;
    /// <summary><c>MAP_LOCKED</c>: VM_LOCKED, and fault every page in.</summary>
    public const int Locked = 0x2000;
    /// <summary><c>MAP_NORESERVE</c>: no commit charge (VM_NORESERVE).</summary>
    public const int NoReserve = 0x4000;
    /// <summary><c>MAP_POPULATE</c>: fault every page in at once.</summary>
    public const int Populate = 0x8000;
    /// <summary><c>MAP_NONBLOCK</c>: with MAP_POPULATE, populate nothing.</summary>
    public const int NonBlock = 0x10000;
    /// <summary><c>MAP_STACK</c>.</summary>
    public const int Stack = 0x20000;
    /// <summary><c>MAP_HUGETLB</c>.</summary>
    public const int HugeTlb = 0x40000;
    /// <summary><c>MAP_FIXED_NOREPLACE</c>.</summary>
    public const int FixedNoReplace = 0x100000;
    /// <summary><c>LEGACY_MAP_MASK</c>: the flags MAP_SHARED quietly accepts; MAP_SHARED_VALIDATE refuses
    /// any other (MAP_FIXED_NOREPLACE among them) with EOPNOTSUPP.</summary>
    public const int LegacyMask = Shared | Private | Fixed | Anonymous | 0x0800 /* DENYWRITE */ | 0x1000 /* EXECUTABLE */ |
        0x4000000 /* UNINITIALIZED */ | GrowsDown | Locked | NoReserve | Populate | NonBlock | Stack | HugeTlb;
}

/// <summary><c>MADV_*</c> values of madvise.</summary>
public static class Madv
{
    /// <summary><c>MADV_NORMAL</c>.</summary>
    public const int Normal = 0;
    /// <summary><c>MADV_RANDOM</c>.</summary>
    public const int Random = 1;
    /// <summary><c>MADV_SEQUENTIAL</c>.</summary>
    public const int Sequential = 2;
    /// <summary><c>MADV_WILLNEED</c>.</summary>
    public const int WillNeed = 3;
    /// <summary><c>MADV_DONTNEED</c>: drop the pages; private anonymous memory reads back as zeros.</summary>
    public const int DontNeed = 4;
    /// <summary><c>MADV_FREE</c>: private anonymous pages may be reclaimed without swap until written again.</summary>
    public const int Free = 8;
    /// <summary><c>MADV_REMOVE</c>: punch a hole in the file behind a shared mapping.</summary>
    public const int Remove = 9;
    /// <summary><c>MADV_DONTFORK</c>.</summary>
    public const int DontFork = 10;
    /// <summary><c>MADV_DOFORK</c>.</summary>
    public const int DoFork = 11;
    /// <summary><c>MADV_MERGEABLE</c> (KSM).</summary>
    public const int Mergeable = 12;
    /// <summary><c>MADV_UNMERGEABLE</c> (KSM).</summary>
    public const int Unmergeable = 13;
    /// <summary><c>MADV_HUGEPAGE</c>.</summary>
    public const int HugePage = 14;
    /// <summary><c>MADV_NOHUGEPAGE</c>.</summary>
    public const int NoHugePage = 15;
    /// <summary><c>MADV_DONTDUMP</c>.</summary>
    public const int DontDump = 16;
    /// <summary><c>MADV_DODUMP</c>.</summary>
    public const int DoDump = 17;
    /// <summary><c>MADV_WIPEONFORK</c>.</summary>
    public const int WipeOnFork = 18;
    /// <summary><c>MADV_KEEPONFORK</c>.</summary>
    public const int KeepOnFork = 19;
    /// <summary><c>MADV_COLD</c>: deactivate the pages.</summary>
    public const int Cold = 20;
    /// <summary><c>MADV_PAGEOUT</c>: reclaim the pages.</summary>
    public const int PageOut = 21;
    /// <summary><c>MADV_POPULATE_READ</c>.</summary>
    public const int PopulateRead = 22;
    /// <summary><c>MADV_POPULATE_WRITE</c>.</summary>
    public const int PopulateWrite = 23;
    /// <summary><c>MADV_DONTNEED_LOCKED</c>.</summary>
    public const int DontNeedLocked = 24;
    /// <summary><c>MADV_COLLAPSE</c>.</summary>
    public const int Collapse = 25;
    /// <summary><c>MADV_GUARD_INSTALL</c>.</summary>
    public const int GuardInstall = 102;
    /// <summary><c>MADV_GUARD_REMOVE</c>.</summary>
    public const int GuardRemove = 103;
}

/// <summary><c>MREMAP_*</c> flags.</summary>
public static class Mremap
{
    /// <summary><c>MREMAP_MAYMOVE</c>.</summary>
    public const int MayMove = 1;
    /// <summary><c>MREMAP_FIXED</c>.</summary>
    public const int Fixed = 2;
    /// <summary><c>MREMAP_DONTUNMAP</c>.</summary>
    public const int DontUnmap = 4;
}

/// <summary><c>MS_*</c> flags of msync.</summary>
public static class Ms
{
    /// <summary><c>MS_ASYNC</c>.</summary>
    public const int Async = 1;
    /// <summary><c>MS_INVALIDATE</c>.</summary>
    public const int Invalidate = 2;
    /// <summary><c>MS_SYNC</c>.</summary>
    public const int Sync = 4;
}
