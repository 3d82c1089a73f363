using Kiov.Memory;
using Kiov.Mm;

namespace Kiov.Gup;

/// <summary>
/// The get_user_pages family of mm/gup.c: find the pages behind a range of a user address space and
/// take a reference (FOLL_GET) or a pin (FOLL_PIN) on each. Every entry returns the number of pages
/// obtained (fewer than asked when a fault or a permission stops the walk), a negative errno only when
/// none was obtained, and 0 for zero pages. An empty <c>pages</c> span with a non-zero count stands
/// for the kernel's NULL array (fault in only; refused with GET or PIN).
/// </summary>
public static partial class UserPages
{
    private const Foll FastAllowed = Foll.Write | Foll.LongTerm | Foll.Force | Foll.Pin | Foll.Get |
                                     Foll.FastOnly | Foll.NoFault | Foll.PciP2pDma | Foll.HonorNumaFault;

    /// <summary><c>get_user_pages</c>: FOLL_GET references on [start, start + nrPages pages) of
    /// <paramref name="mm"/>. The caller holds <paramref name="mm"/>'s mmap lock for reading.</summary>
    public static long GetUserPages(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages) =>
        Validate(mm, nrPages, pages, ref flags, Foll.Touch) ? Slow(mm, start, nrPages, flags, pages) : Refuse(mm);

    /// <summary><c>get_user_pages_unlocked</c>: as <see cref="GetUserPages"/>, taking the mmap lock itself.</summary>
    public static long GetUserPagesUnlocked(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages) =>
        Validate(mm, nrPages, pages, ref flags, Foll.Touch | Foll.Unlockable) ? SlowUnlocked(mm, start, nrPages, flags, pages) : Refuse(mm);

    /// <summary><c>get_user_pages_remote</c>: as <see cref="GetUserPages"/> on another task's address
    /// space (FOLL_REMOTE), whose mmap lock the caller holds for reading.</summary>
    public static long GetUserPagesRemote(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages) =>
        Validate(mm, nrPages, pages, ref flags, Foll.Touch | Foll.Remote) ? Slow(mm, start, nrPages, flags, pages) : Refuse(mm);

    /// <summary><c>get_user_pages_remote</c> with a <c>locked</c> pointer: the caller holds the mmap lock
    /// (<paramref name="locked"/> must be true, else the arguments are invalid) and lets a fault drop it
    /// to wait (FOLL_UNLOCKABLE). If that happened, the lock is released on return and
    /// <paramref name="locked"/> is false: the caller must not unlock it.</summary>
    public static long GetUserPagesRemote(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages, ref bool locked) =>
        locked && Validate(mm, nrPages, pages, ref flags, Foll.Touch | Foll.Remote | Foll.Unlockable)
            ? SlowLocked(mm, start, nrPages, flags, pages, ref locked) : Refuse(mm);

    /// <summary><c>get_user_pages_fast</c>: FOLL_GET references through the lockless walk, the rest
    /// through the slow path. No lock may be held.</summary>
    public static int GetUserPagesFast(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages) =>
        Validate(mm, nrPages, pages, ref flags, Foll.Get) ? FastFallback(mm, start, nrPages, flags, pages) : Refuse(mm);

    /// <summary><c>get_user_pages_fast_only</c>: the lockless walk alone; never takes a lock or a fault.</summary>
    public static int GetUserPagesFastOnly(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages) =>
        Validate(mm, nrPages, pages, ref flags, Foll.Get | Foll.FastOnly) ? FastFallback(mm, start, nrPages, flags, pages) : Refuse(mm);

    /// <summary><c>pin_user_pages</c>: FOLL_PIN pins, released with <see cref="UnpinUserPages"/>.
    /// The caller holds the mmap lock for reading.</summary>
    /// <remarks>Invalid arguments give 0 on the running kernel (is_valid_gup_args), -EINVAL before 6.3.</remarks>
    public static long PinUserPages(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages) =>
        ValidatePin(mm, nrPages, pages, ref flags, Foll.Pin | Foll.Touch) ? Slow(mm, start, nrPages, flags, pages) : RefusePin(mm);

    /// <summary><c>pin_user_pages_unlocked</c>: as <see cref="PinUserPages"/>, taking the mmap lock itself.</summary>
    /// <remarks>Invalid arguments give 0 on the running kernel, -EINVAL before 6.3.</remarks>
    public static long PinUserPagesUnlocked(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages) =>
        ValidatePin(mm, nrPages, pages, ref flags, Foll.Pin | Foll.Touch | Foll.Unlockable) ? SlowUnlocked(mm, start, nrPages, flags, pages) : RefusePin(mm);

    /// <summary><c>pin_user_pages_remote</c>: pins in another task's address space, whose mmap lock the
    /// caller holds for reading.</summary>
    /// <remarks>Invalid arguments give 0 on the running kernel, -EINVAL before 6.3.</remarks>
    public static long PinUserPagesRemote(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages) =>
        ValidatePin(mm, nrPages, pages, ref flags, Foll.Pin | Foll.Touch | Foll.Remote) ? Slow(mm, start, nrPages, flags, pages) : RefusePin(mm);

    /// <summary><c>pin_user_pages_remote</c> with a <c>locked</c> pointer: as the
    /// <see cref="GetUserPagesRemote(AddressSpace, ulong, int, Foll, Span{Page}, ref bool)"/> overload, with pins.</summary>
    /// <remarks>Invalid arguments give 0 on the running kernel, -EINVAL before 6.3.</remarks>
    public static long PinUserPagesRemote(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages, ref bool locked) =>
        locked && ValidatePin(mm, nrPages, pages, ref flags, Foll.Pin | Foll.Touch | Foll.Remote | Foll.Unlockable)
            ? SlowLocked(mm, start, nrPages, flags, pages, ref locked) : RefusePin(mm);

    /// <summary><c>pin_user_pages_fast</c>: FOLL_PIN pins through the lockless walk, the rest through
    /// the slow path. No lock may be held.</summary>
    public static int PinUserPagesFast(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages) =>
        ValidatePin(mm, nrPages, pages, ref flags, Foll.Pin) ? FastFallback(mm, start, nrPages, flags, pages) : Refuse(mm);

    /// <summary><c>pin_user_pages_fast_only</c>: pins through the lockless walk alone.</summary>
    public static int PinUserPagesFastOnly(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages) =>
        ValidatePin(mm, nrPages, pages, ref flags, Foll.Pin | Foll.FastOnly) ? FastFallback(mm, start, nrPages, flags, pages) : Refuse(mm);

    private static int Refuse(AddressSpace mm)
    {
        mm.Kernel.Counters.AddRefused();
        return -Errno.EINVAL;
    }

    // pin_user_pages, pin_user_pages_unlocked, pin_user_pages_remote: `if (!is_valid_gup_args(...))
    // return 0;` in the running kernel (mm/gup.c); -EINVAL in 5.6–6.2. pin_user_pages_fast stays -EINVAL.
    private static int RefusePin(AddressSpace mm)
    {
        mm.Kernel.Counters.AddRefused();
        return mm.Kernel.Config.PinInvalidArgsReturnZero ? 0 : -Errno.EINVAL;
    }

    // The pin_* entries exist from 5.6 on; before, a pin is a bug in the caller, not an errno. They
    // refuse a NULL page array (is_valid_gup_args: "Pages input must be given if using GET/PIN").
    private static bool ValidatePin(AddressSpace mm, int nrPages, Span<Page> pages, ref Foll flags, Foll toSet)
    {
        ArgumentNullException.ThrowIfNull(mm);
        KernelConfig config = mm.Kernel.Config;
        if (!config.HasFollPin) throw new InvalidOperationException($"pin_user_pages* do not exist in kernel {config.Name}: FOLL_PIN arrived in 5.6");
        return !IsNullArray(nrPages, pages) && Validate(mm, nrPages, pages, ref flags, toSet);
    }

    private static bool IsNullArray(int nrPages, Span<Page> pages) => pages.IsEmpty && nrPages > 0;

    // is_valid_gup_args: no internal flag from the caller; GET and PIN exclusive; LONGTERM only with
    // PIN; a page array whenever a reference is taken; (6.2 on) not LONGTERM with PCI_P2PDMA, since
    // the pgmap must stay hot-unpluggable. Also checks the span can hold the result.
    private static bool Validate(AddressSpace mm, int nrPages, Span<Page> pages, ref Foll flags, Foll toSet)
    {
        ArgumentNullException.ThrowIfNull(mm);
        if (!pages.IsEmpty && pages.Length < nrPages)
            throw new ArgumentException($"the page array holds {pages.Length} pages, {nrPages} asked", nameof(pages));
        if ((flags & Foll.Internal) != 0) return false;
        flags |= toSet;
        if ((flags & (Foll.Pin | Foll.Get)) == (Foll.Pin | Foll.Get)) return false;
        if ((flags & (Foll.Pin | Foll.LongTerm)) == Foll.LongTerm) return false;
        if ((flags & (Foll.Pin | Foll.Get)) != 0 && IsNullArray(nrPages, pages)) return false;
        if (mm.Kernel.Config.RefusesLongTermP2pDma && (flags & (Foll.LongTerm | Foll.PciP2pDma)) == (Foll.LongTerm | Foll.PciP2pDma)) return false;
        return true;
    }
}
