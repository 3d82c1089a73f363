namespace Kiov.Abi;

/// <summary><c>MAP_*</c>: the flags of mmap, from include/uapi/linux/mman.h (the mapping types),
/// include/uapi/asm-generic/mman-common.h and include/uapi/asm-generic/mman.h (the values x86-64 uses).</summary>
public static class MapFlags
{
    /// <summary><c>MAP_SHARED</c> = 0x01 (uapi/linux/mman.h).</summary>
    public const int Shared = 0x01;
    /// <summary><c>MAP_PRIVATE</c> = 0x02 (uapi/linux/mman.h).</summary>
    public const int Private = 0x02;
    /// <summary><c>MAP_SHARED_VALIDATE</c> = 0x03 (uapi/linux/mman.h): shared, and unknown flags are refused.</summary>
    public const int SharedValidate = 0x03;
    /// <summary><c>MAP_TYPE</c> = 0x0f (mman-common.h): the mask of the mapping type.</summary>
    public const int TypeMask = 0x0f;
    /// <summary><c>MAP_FIXED</c> = 0x10 (mman-common.h).</summary>
    public const int Fixed = 0x10;
    /// <summary><c>MAP_ANONYMOUS</c> = 0x20 (mman-common.h).</summary>
    public const int Anonymous = 0x20;
    /// <summary><c>MAP_GROWSDOWN</c> = 0x0100 (asm-generic/mman.h).</summary>
    public const int GrowsDown = 0x0100;
    /// <summary><c>MAP_DENYWRITE</c> = 0x0800 (asm-generic/mman.h): ignored since Linux 5.15.</summary>
    public const int DenyWrite = 0x0800;
    /// <summary><c>MAP_EXECUTABLE</c> = 0x1000 (asm-generic/mman.h): ignored.</summary>
    public const int Executable = 0x1000;
    /// <summary><c>MAP_LOCKED</c> = 0x2000 (asm-generic/mman.h): VM_LOCKED, and fault every page in.</summary>
    public const int Locked = 0x2000;
    /// <summary><c>MAP_NORESERVE</c> = 0x4000 (asm-generic/mman.h): no commit charge (VM_NORESERVE).</summary>
    public const int NoReserve = 0x4000;
    /// <summary><c>MAP_POPULATE</c> = 0x8000 (mman-common.h): fault every page in at once.</summary>
    public const int Populate = 0x8000;
    /// <summary><c>MAP_NONBLOCK</c> = 0x10000 (mman-common.h): with MAP_POPULATE, populate nothing.</summary>
    public const int NonBlock = 0x10000;
    /// <summary><c>MAP_STACK</c> = 0x20000 (mman-common.h).</summary>
    public const int Stack = 0x20000;
    /// <summary><c>MAP_HUGETLB</c> = 0x40000 (mman-common.h).</summary>
    public const int HugeTlb = 0x40000;
    /// <summary><c>MAP_FIXED_NOREPLACE</c> = 0x100000 (mman-common.h): MAP_FIXED that fails with EEXIST over a mapping.</summary>
    public const int FixedNoReplace = 0x100000;
    /// <summary><c>MAP_UNINITIALIZED</c> = 0x4000000 (mman-common.h): honoured only without an MMU.</summary>
    public const int Uninitialized = 0x4000000;
    /// <summary><c>LEGACY_MAP_MASK</c> (kernel-internal, include/linux/mman.h): the flags MAP_SHARED quietly
    /// accepts; MAP_SHARED_VALIDATE refuses any other (MAP_FIXED_NOREPLACE among them) with EOPNOTSUPP.</summary>
    public const int LegacyMask = Shared | Private | Fixed | Anonymous | DenyWrite | Executable | Uninitialized |
        GrowsDown | Locked | NoReserve | Populate | NonBlock | Stack | HugeTlb;
}
