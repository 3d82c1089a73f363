using System.Globalization;

namespace Kiov.Trace;

/// <summary>What one trace line printed: the call's return value, and for <c>pipe</c> the two
/// fds, for <c>hash</c> the FNV-1a 64 of the bytes read.</summary>
/// <param name="Ret">The return value, or <c>-errno</c>.</param>
/// <param name="Fds">For a <c>pipe</c> that returned 0: the read and write trace fds.</param>
/// <param name="Hash">For a <c>hash</c> whose <paramref name="Ret"/> is not negative: the hash.</param>
/// <param name="Threads">For a <c>par</c>: each thread's results.</param>
/// <param name="Vec">For a <c>mincore</c> that returned 0: one character per page, <c>1</c> where the
/// kernel set the low bit.</param>
internal record struct TraceResult(long Ret, (int Read, int Write)? Fds = null, ulong? Hash = null, IReadOnlyList<IReadOnlyList<TraceResult>>? Threads = null, string? Vec = null)
{
    /// <summary>The result line, byte for byte as docs/trace-format.md prints it (no spaces), without the
    /// newline: <c>{"ret":N}</c>, <c>{"ret":0,"fds":[r,w]}</c> or <c>{"ret":N,"hash":"0x…"}</c>.</summary>
    public string ToJson()
    {
        string ret = Ret.ToString(CultureInfo.InvariantCulture);
        if (Threads is { } threads)
            return $"{{\"ret\":{ret},\"results\":[{string.Join(',', threads.Select(t => $"[{string.Join(',', t.Select(r => r.ToJson()))}]"))}]}}";
        if (Fds is { } fds && Ret == 0)
            return string.Create(CultureInfo.InvariantCulture, $"{{\"ret\":{ret},\"fds\":[{fds.Read},{fds.Write}]}}");
        if (Vec is { } vec && Ret == 0)
            return $"{{\"ret\":0,\"vec\":\"{vec}\"}}";
        if (Hash is { } hash && Ret >= 0)
            return $"{{\"ret\":{ret},\"hash\":\"{Fnv1a64.Format(hash)}\"}}";
        return $"{{\"ret\":{ret}}}";
    }
}
