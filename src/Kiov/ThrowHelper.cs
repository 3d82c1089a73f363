using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Kiov.Memory;

namespace Kiov;

/// <summary>
/// Throws for the hot paths (page counts, the allocator, the iterators, the locks): a method whose
/// throw is a call to a method that never returns stays small enough to inline, and the message is
/// formatted only when it is thrown (the kernel keeps <c>BUG()</c> and <c>VM_BUG_ON_PAGE</c> out of
/// line too). Each throws <see cref="KiovBugException"/>: a broken invariant of the model.
/// </summary>
internal static class ThrowHelper
{
    /// <summary><c>BUG()</c> with a fixed message.</summary>
    [DoesNotReturn, StackTraceHidden]
    public static void Bug(string message) => throw new KiovBugException(message);

    /// <summary>A page count that went where it never may (<c>VM_BUG_ON_PAGE</c> in the page_ref helpers).</summary>
    [DoesNotReturn, StackTraceHidden]
    public static void BadCount(string what, Page page, int count) =>
        throw new KiovBugException($"{what} on {page} took its count to {count}");

    /// <summary>A frame in a state the allocator never hands out or takes back (<c>bad_page</c>).</summary>
    [DoesNotReturn, StackTraceHidden]
    public static void BadFrame(string what, int pfn) => throw new KiovBugException($"{what}: pfn {pfn}");

    /// <summary>An address that should be mapped and is not.</summary>
    [DoesNotReturn, StackTraceHidden]
    public static void Unmapped(string what, ulong addr) => throw new KiovBugException($"{what} 0x{addr:x}");
}
