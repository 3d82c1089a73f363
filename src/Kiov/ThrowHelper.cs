using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Kiov;

/// <summary>
/// Throws for the hot paths (page counts, the allocator, the iterators, the locks): a method whose
/// throw is a call to a method that never returns stays small enough to inline, and the message is
/// formatted only when it is thrown (the kernel's <c>BUG()</c>/<c>VM_BUG_ON</c> live out of line too).
/// </summary>
internal static class ThrowHelper
{
    /// <summary>A broken invariant of the model (<c>BUG()</c>).</summary>
    [DoesNotReturn, StackTraceHidden]
    public static void Bug(string message) => throw new KiovBugException(message);

    /// <summary>A broken invariant about a page's counts (<c>VM_BUG_ON_PAGE</c>).</summary>
    [DoesNotReturn, StackTraceHidden]
    public static void PageBug(string what, Memory.Page page, int value) =>
        throw new KiovBugException($"{what} on {page}: count {value}");
}
