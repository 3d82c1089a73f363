using Kiov.Iov;
using System.Text.Json;

namespace Kiov.Trace;

/// <summary>The fields of one trace line, read by name into C types; every problem is a
/// <see cref="TraceException"/> naming the line.</summary>
internal readonly struct TraceFields(JsonElement obj, int line)
{
    public int Line => line;

    public TraceException Error(string problem) => new(line, problem);

    public JsonElement Required(string name) =>
        obj.TryGetProperty(name, out JsonElement value) ? value : throw Error($"missing field \"{name}\"");

    public bool Has(string name) => obj.TryGetProperty(name, out _);

    /// <summary>An integer field as its 64 bits: a <c>size_t</c> or an address.</summary>
    public ulong U64(string name) => Bits(name, Required(name));

    /// <summary>An integer field as a signed 64-bit value: an <c>off_t</c>.</summary>
    public long I64(string name) => unchecked((long)U64(name));

    /// <summary>An integer field as a C <c>int</c> (an fd): its value must fit.</summary>
    public int Int(string name)
    {
        long value = I64(name);
        return value is >= int.MinValue and <= int.MaxValue
            ? (int)value
            : throw Error($"field \"{name}\" does not fit in an int");
    }

    /// <summary>An integer field as an unsigned 32-bit value (a seed), from -2^31 to 2^32 - 1.</summary>
    public uint U32(string name)
    {
        long value = I64(name);
        return value is >= int.MinValue and <= uint.MaxValue
            ? unchecked((uint)value)
            : throw Error($"field \"{name}\" does not fit in 32 bits");
    }

    /// <summary>An <c>off_t</c> field that may be <c>null</c> (NULL).</summary>
    public long? NullableI64(string name)
    {
        JsonElement value = Required(name);
        return value.ValueKind == JsonValueKind.Null ? null : unchecked((long)Bits(name, value));
    }

    public string String(string name)
    {
        JsonElement value = Required(name);
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw Error($"field \"{name}\" must be a string");
    }

    /// <summary>An iovec list: <c>[[addr, len], …]</c>.</summary>
    public IoVec[] IoVecs(string name)
    {
        JsonElement value = Required(name);
        if (value.ValueKind != JsonValueKind.Array)
            throw Error($"field \"{name}\" must be an iovec list [[addr, len], ...]");
        var iov = new IoVec[value.GetArrayLength()];
        int i = 0;
        foreach (JsonElement pair in value.EnumerateArray())
        {
            if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2)
                throw Error($"field \"{name}\" element {i} must be a pair [addr, len]");
            iov[i] = new IoVec(Bits($"{name}[{i}] addr", pair[0]), Bits($"{name}[{i}] len", pair[1]));
            i++;
        }
        return iov;
    }

    /// <summary>The array-of-strings field <paramref name="name"/>.</summary>
    public IEnumerable<string> Words(string name)
    {
        JsonElement value = Required(name);
        if (value.ValueKind != JsonValueKind.Array)
            throw Error($"field \"{name}\" must be an array of strings");
        foreach (JsonElement word in value.EnumerateArray())
        {
            yield return word.ValueKind == JsonValueKind.String
                ? word.GetString()!
                : throw Error($"field \"{name}\" must be an array of strings");
        }
    }

    private ulong Bits(string name, JsonElement value) =>
        TraceNumber.TryRead(value, out ulong bits)
            ? bits
            : throw Error($"field \"{name}\" must be an integer that fits in 64 bits (a number, or a string like \"0x1f\" or \"-1\")");
}
