namespace Kiov;

/// <summary>
/// A broken invariant inside the model: use after free, double free, a refcount going negative,
/// a page leaked. The kernel would BUG() or WARN(); the model throws, so that a test fails loudly.
/// Bad input from a user never raises it: that gets an errno.
/// </summary>
public sealed class KiovBugException(string message) : Exception(message);
