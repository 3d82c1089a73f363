using System.Runtime.InteropServices;

namespace Kiov.Memory;

/// <summary>
/// A range of this process's address space, page aligned, taken with <c>mmap</c> and given back
/// with <c>munmap</c>. Reserved inaccessible (<c>PROT_NONE</c>, <c>MAP_NORESERVE</c>: no memory
/// is charged) and made usable a prefix at a time with <see cref="Commit"/>, or mapped readable
/// and writable from the start, in which case the host kernel supplies a page when it is first
/// touched. Either way memory never touched costs nothing.
/// </summary>
internal sealed unsafe partial class AddressReservation : IDisposable
{
    private AddressReservation(byte* start, long length)
    {
        Start = start;
        Length = length;
    }

    /// <summary>The first byte.</summary>
    public byte* Start { get; private set; }

    /// <summary>The length in bytes.</summary>
    public long Length { get; }

    /// <summary>How many bytes from <see cref="Start"/> are usable.</summary>
    public long Committed { get; private set; }

    /// <summary>Reserves <paramref name="length"/> bytes, inaccessible until committed, or
    /// usable at once when <paramref name="usable"/>.</summary>
    /// <exception cref="OutOfMemoryException">The address space cannot hold it.</exception>
    public static AddressReservation Reserve(long length, bool usable)
    {
        nint p = Mmap(0, (nuint)length, usable ? Prot.Read | Prot.Write : Prot.None, MapFlags.Private | MapFlags.Anonymous | MapFlags.NoReserve, -1, 0);
        if (p == -1)
            throw new OutOfMemoryException($"cannot reserve {length >> 20} MiB of address space (errno {Marshal.GetLastPInvokeError()})");
        return new AddressReservation((byte*)p, length) { Committed = usable ? length : 0 };
    }

    /// <summary>Makes the first <paramref name="bytes"/> (a multiple of the page size) usable.</summary>
    /// <returns>False when the host refuses the memory (its commit limit).</returns>
    public bool Commit(long bytes)
    {
        if (bytes <= Committed)
            return true;
        if (Mprotect((nint)(Start + Committed), (nuint)(bytes - Committed), Prot.Read | Prot.Write) != 0)
            return false;
        Committed = bytes;
        return true;
    }

    /// <summary>Gives the range back.</summary>
    public void Dispose()
    {
        if (Start != null)
        {
            Munmap((nint)Start, (nuint)Length);
            Start = null;
        }
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint addr, nuint len, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int Mprotect(nint addr, nuint len, int prot);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint addr, nuint len);
}
