using System.Globalization;
using System.Text.Json;

namespace Kiov.Trace.Fuzz;

/// <summary>
/// The summary a fuzz session leaves in its output folder, <c>summary.json</c> (or
/// <c>summary-shard-K-of-N.json</c> for a shard), so that <c>kiov fuzz --merge</c> can add up the
/// shards of a campaign run as separate jobs:
/// <c>{"seed":S,"ops":O,"runs":R,"shard":K,"shards":N,"passed":P,"failed":F,"stopped":null,"divergences":[...]}</c>.
/// <c>runs</c> is the campaign's (all shards); <c>stopped</c> is <c>"interrupted"</c>,
/// <c>"duration"</c> or null.
/// </summary>
/// <param name="Seed">The campaign's seed.</param>
/// <param name="Ops">Lines per trace.</param>
/// <param name="Runs">Runs in the whole campaign (<see cref="int.MaxValue"/>: until the time budget).</param>
/// <param name="Shard">The shard, 1 to <paramref name="Shards"/>.</param>
/// <param name="Shards">How many shards.</param>
/// <param name="Passed">Runs that agreed.</param>
/// <param name="Failed">Runs that did not.</param>
/// <param name="StoppedBy">Why the shard stopped early, or null.</param>
/// <param name="Divergences">The divergence files written.</param>
internal sealed record FuzzSummaryFile(ulong Seed, int Ops, int Runs, int Shard, int Shards, int Passed, int Failed,
    string? StoppedBy, IReadOnlyList<string> Divergences)
{
    /// <summary>The file name for shard <paramref name="shard"/> of <paramref name="shards"/>.</summary>
    public static string FileName(int shard, int shards) =>
        shards == 1 ? "summary.json" : string.Create(CultureInfo.InvariantCulture, $"summary-shard-{shard}-of-{shards}.json");

    /// <summary>The summary of a session run with <paramref name="options"/>.</summary>
    public static FuzzSummaryFile Of(FuzzOptions options, FuzzSummary summary) =>
        new(options.Seed, options.Ops, options.Runs, options.Shard, options.Shards, summary.Passed, summary.Failed,
            summary.StoppedBy, summary.Divergences);

    /// <summary>Writes it into <paramref name="dir"/>; returns the path.</summary>
    /// <exception cref="IOException">It cannot be written.</exception>
    public string Write(string dir)
    {
        string path = Path.Combine(dir, FileName(Shard, Shards));
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("seed", Seed);
            json.WriteNumber("ops", Ops);
            json.WriteNumber("runs", Runs);
            json.WriteNumber("shard", Shard);
            json.WriteNumber("shards", Shards);
            json.WriteNumber("passed", Passed);
            json.WriteNumber("failed", Failed);
            if (StoppedBy is null) json.WriteNull("stopped");
            else json.WriteString("stopped", StoppedBy);
            json.WriteStartArray("divergences");
            foreach (string d in Divergences)
                json.WriteStringValue(d);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        File.WriteAllBytes(path, stream.ToArray());
        return path;
    }

    /// <summary>Reads a summary file.</summary>
    /// <returns>The summary, or null with <paramref name="problem"/> saying why it is not one.</returns>
    public static FuzzSummaryFile? Read(string path, out string? problem)
    {
        problem = null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement o = doc.RootElement;
            var divergences = new List<string>();
            foreach (JsonElement d in o.GetProperty("divergences").EnumerateArray())
                divergences.Add(d.GetString()!);
            JsonElement stopped = o.GetProperty("stopped");
            var summary = new FuzzSummaryFile(o.GetProperty("seed").GetUInt64(), o.GetProperty("ops").GetInt32(),
                o.GetProperty("runs").GetInt32(), o.GetProperty("shard").GetInt32(), o.GetProperty("shards").GetInt32(),
                o.GetProperty("passed").GetInt32(), o.GetProperty("failed").GetInt32(),
                stopped.ValueKind == JsonValueKind.Null ? null : stopped.GetString(), divergences);
            if (summary.Shards < 1 || summary.Shard < 1 || summary.Shard > summary.Shards || summary.Passed < 0 || summary.Failed < 0)
            {
                problem = "its shard or counts are out of range";
                return null;
            }
            return summary;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            problem = "not a kiov fuzz summary";
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"cannot read: {e.Message}";
            return null;
        }
    }
}
