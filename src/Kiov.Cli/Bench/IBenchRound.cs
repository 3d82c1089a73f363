namespace Kiov.Cli.Bench;

/// <summary>
/// One side of a benchmark cell (the model, the host kernel, or memcpy), set up and ready:
/// <see cref="Run"/> does one round (the same calls on every side), checking every result;
/// <see cref="IDisposable.Dispose"/> releases what the set-up took.
/// </summary>
internal interface IBenchRound : IDisposable
{
    /// <summary>Does one round; throws <see cref="InvalidOperationException"/> if a call does not
    /// return what it must.</summary>
    void Run();
}

/// <summary>Checks of a round's results.</summary>
internal static class RoundCheck
{
    /// <summary>Throws unless <paramref name="got"/> is <paramref name="want"/>.</summary>
    public static void Expect(long got, long want, string call)
    {
        if (got != want) throw new InvalidOperationException($"{call} returned {got}, not {want}");
    }
}
