namespace Kiov.Trace.Fuzz;

/// <summary>
/// The fuzzer's random numbers: SplitMix64, so that a seed gives the same sequence on every
/// machine and every .NET version (unlike <see cref="Random"/>, whose algorithm may change).
/// </summary>
/// <param name="seed">The starting state.</param>
internal sealed class FuzzRandom(ulong seed)
{
    private ulong _state = seed;

    /// <summary>The seed of run <paramref name="run"/> of a fuzz session started with
    /// <paramref name="seed"/>: distinct, well-mixed seeds for consecutive runs.</summary>
    /// <param name="seed">The session's <c>--seed</c>.</param>
    /// <param name="run">The 0-based run index.</param>
    public static ulong ForRun(ulong seed, int run) =>
        Mix(seed ^ Mix(unchecked((ulong)run + 0x9E3779B97F4A7C15UL)));

    /// <summary>The next 64 random bits.</summary>
    public ulong Next() => Mix(_state = unchecked(_state + 0x9E3779B97F4A7C15UL));

    /// <summary>A number in [0, <paramref name="bound"/>); 0 when <paramref name="bound"/> is 0.</summary>
    /// <param name="bound">The exclusive upper bound.</param>
    public ulong Below(ulong bound) => bound == 0 ? 0 : Next() % bound;

    /// <summary>An int in [0, <paramref name="bound"/>).</summary>
    /// <param name="bound">The exclusive upper bound (positive).</param>
    public int Below(int bound) => (int)Below((ulong)bound);

    /// <summary>True with probability <paramref name="percent"/>/100.</summary>
    /// <param name="percent">The chance, in percent.</param>
    public bool Chance(int percent) => Below(100) < percent;

    /// <summary>One of <paramref name="items"/>, uniformly.</summary>
    /// <param name="items">The choices (not empty).</param>
    public T Pick<T>(IReadOnlyList<T> items) => items[Below(items.Count)];

    private static ulong Mix(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
