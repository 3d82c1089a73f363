using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kiov.Tests.Abi;

/// <summary>
/// Kiov.Abi against this machine's C headers: a C program that includes them prints the value of
/// each constant's C name, and every value must be the one the C# constant has.
/// </summary>
public partial class AbiHeaderTests(ITestOutputHelper output)
{
    /// <summary>The headers the C program includes: the C library's (which user space compiles
    /// against, and which alone has SPLICE_F_*), then the kernel's uapi ones for what the C
    /// library of an older machine lacks.</summary>
    private const string Includes = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <signal.h>
        #include <stdio.h>
        #include <sys/mman.h>
        #include <sys/socket.h>
        #include <sys/syscall.h>
        #include <sys/uio.h>
        #include <time.h>
        #include <unistd.h>
        #include <linux/mman.h>
        #include <linux/memfd.h>
        #include <linux/fs.h>
        """;

    [Fact]
    public void Every_Kiov_Abi_constant_has_a_C_name_and_every_C_name_a_constant()
    {
        var constants = AbiConstants();
        string[] unnamed = [.. constants.Keys.Except(AbiHeaderNames.CName.Keys)];
        Assert.True(unnamed.Length == 0, "no C name in AbiHeaderNames.CName for: " + string.Join(", ", unnamed));
        string[] stale = [.. AbiHeaderNames.CName.Keys.Concat(AbiHeaderNames.MayBeMissing.Keys).Except(constants.Keys)];
        Assert.True(stale.Length == 0, "AbiHeaderNames names constants Kiov.Abi does not have: " + string.Join(", ", stale));
    }

    [FactNeedsCc]
    public void Every_Kiov_Abi_constant_has_the_value_of_the_host_C_headers()
    {
        var constants = AbiConstants();
        Dictionary<string, long?> host = HostValues(AbiHeaderNames.CName);
        var wrong = new List<string>();
        var missing = new List<string>();
        int checkedCount = 0;
        foreach (var (key, value) in constants.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            string c = AbiHeaderNames.CName[key];
            if (host[key] is not long v)
            {
                if (AbiHeaderNames.MayBeMissing.TryGetValue(key, out string? why)) output.WriteLine($"unchecked: {key} ({why})");
                else missing.Add($"{key}: {c} is not in this machine's headers");
                continue;
            }
            checkedCount++;
            if (v != value) wrong.Add($"{key} = {value} (0x{value:x}), but {c} = {v} (0x{v:x})");
        }
        output.WriteLine($"{checkedCount} of {constants.Count} constants checked against the C headers");
        Assert.True(wrong.Count == 0, "Kiov.Abi differs from the C headers:\n" + string.Join('\n', wrong));
        Assert.True(missing.Count == 0, string.Join('\n', missing));
    }

    [FactNeedsCc]
    public void A_wrong_value_is_caught()
    {
        // The comparison above is only as good as the C program: one that printed anything would pass.
        var host = HostValues(new Dictionary<string, string> { ["a"] = "O_NONBLOCK", ["b"] = "EINVAL", ["c"] = "NO_SUCH_NAME" });
        Assert.Equal(OpenFlags.NonBlock, host["a"]);
        Assert.NotEqual(OpenFlags.NonBlock + 1, host["a"]);
        Assert.Equal(Errno.EINVAL, host["b"]);
        Assert.Null(host["c"]);
    }

    /// <summary>Every constant of a static class in Kiov.Abi (public, or internal like the executor's
    /// socket numbers), and every member of an enum there, by "Type.Member".</summary>
    private static Dictionary<string, long> AbiConstants()
    {
        var all = new Dictionary<string, long>();
        foreach (Type t in typeof(Errno).Assembly.GetTypes().Where(t => t.Namespace == "Kiov.Abi" && !t.IsNested && !t.Name.StartsWith('<')))
        {
            if (t.IsEnum)
                foreach (string name in Enum.GetNames(t))
                    all[$"{t.Name}.{name}"] = Convert.ToInt64(Enum.Parse(t, name), System.Globalization.CultureInfo.InvariantCulture);
            else
                foreach (FieldInfo f in t.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral))
                    all[$"{t.Name}.{f.Name}"] = Convert.ToInt64(f.GetRawConstantValue(), System.Globalization.CultureInfo.InvariantCulture);
        }
        return all;
    }

    /// <summary>The value of each C expression as the host's headers define it, or null where they
    /// lack one of its names.</summary>
    private static Dictionary<string, long?> HostValues(IReadOnlyDictionary<string, string> cExpressions)
    {
        var c = new StringBuilder(Includes).Append("\nint main(void)\n{\n");
        foreach (var (key, expr) in cExpressions)
        {
            string[] names = [.. CIdentifier().Matches(expr).Select(m => m.Value).Distinct()];
            string guard = names.Length == 0 ? "1" : string.Join(" && ", names.Select(n => $"defined({n})"));
            c.Append($"#if {guard}\n    printf(\"{key} %lld\\n\", (long long)({expr}));\n#else\n    printf(\"{key} -\\n\");\n#endif\n");
        }
        c.Append("    return 0;\n}\n");
        var values = new Dictionary<string, long?>();
        foreach (string line in HostCompiler.CompileAndRun(c.ToString()).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = line.Split(' ');
            values[parts[0]] = parts[1] == "-" ? null : long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        Assert.Equal(cExpressions.Count, values.Count);
        return values;
    }

    [GeneratedRegex("[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex CIdentifier();
}
