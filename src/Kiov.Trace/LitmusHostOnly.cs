using System.Text.RegularExpressions;

namespace Kiov.Trace;

/// <summary>
/// Host-only classes of litmus outcomes: results the host can show that no interleaving of the
/// model's scheduling points produces, because the host's race happens inside one of the model's
/// steps. A test declares the class it expects in a comment line <c># Host-only: CLASS.</c>;
/// <c>kiov litmus</c> then lists the host outcomes of that class apart (never as model outcomes)
/// and accepts them, while any other outcome outside the model's set still fails the test.
/// One class is known:
/// <list type="bullet">
/// <item><c>torn-page</c>: a copy out of a page that another CPU is copying into at the same time
/// (a data race on plain bytes within one page, <c>copy_page_to_iter</c> against
/// <c>copy_page_from_iter</c>) reads part of it old and part new. The model copies a page in one
/// step. Such an outcome is accepted only as a model outcome with nothing but <c>hash</c> values
/// changed (the same calls, the same return values); the bytes behind the hash are not checked.</item>
/// </list>
/// </summary>
internal static partial class LitmusHostOnly
{
    /// <summary>The torn-page class.</summary>
    public const string TornPage = "torn-page";

    [GeneratedRegex(@"^\s*#.*\bHost-only:\s*([a-z-]+)")]
    private static partial Regex Declaration();

    [GeneratedRegex("\"hash\":\"0x[0-9a-f]+\"")]
    private static partial Regex HashValue();

    /// <summary>The classes a test's comment lines declare.</summary>
    /// <param name="lines">The test file's lines.</param>
    public static IReadOnlySet<string> Declared(IEnumerable<string> lines) =>
        lines.Select(l => Declaration().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToHashSet();

    /// <summary>The declared class <paramref name="host"/> belongs to, or null: for
    /// <see cref="TornPage"/>, some model outcome equal to it but for hash values.</summary>
    /// <param name="host">A host outcome the model does not list.</param>
    /// <param name="model">The model's outcomes.</param>
    /// <param name="declared">The classes the test declares.</param>
    public static string? Classify(string host, IEnumerable<string> model, IReadOnlySet<string> declared)
    {
        if (!declared.Contains(TornPage)) return null;
        string shape = HashValue().Replace(host, "\"hash\":\"?\"");
        return model.Any(m => HashValue().Replace(m, "\"hash\":\"?\"") == shape) ? TornPage : null;
    }
}
