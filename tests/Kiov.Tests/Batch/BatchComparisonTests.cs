using Kiov.Iov;
using Xunit.Abstractions;

namespace Kiov.Tests.Batch;

/// <summary>The counted half of the seed thread's comparison (what <c>kiov bench</c> prints).</summary>
public class BatchComparisonTests(ITestOutputHelper output)
{
    [Fact]
    public void ThePrimitiveNeedsTheFewestCallsAndAllocatesNothingOnEveryShape()
    {
        var rows = BatchComparison.Rows();
        foreach (string line in BatchComparison.Format(rows)) output.WriteLine(line);
        Assert.Equal(16, rows.Count);
        foreach (var shape in rows.GroupBy(r => r.Shape))
        {
            var primitive = shape.Single(r => r.Method == BatchMethod.Primitive);
            Assert.Equal(0, primitive.AllocatedBytesPerMiB);
            Assert.All(shape, r => Assert.True(primitive.CallsPerMiB <= r.CallsPerMiB, $"{shape.Key}: {r.Method} {r.CallsPerMiB} < {primitive.CallsPerMiB}"));
            Assert.All(shape.Where(r => r.Method != BatchMethod.Primitive), r => Assert.True(r.AllocatedBytesPerMiB > 0));
        }
        // Where segments line up, the primitive and v3 hand back one list; the baseline one per segment.
        var aligned = rows.Where(r => r.Shape == BatchShape.AlignedIovecs256).ToDictionary(r => r.Method);
        Assert.Equal((1.0, 1.0, 256.0, 256.0), (aligned[BatchMethod.Primitive].BatchesPerMiB, aligned[BatchMethod.JeffV3].BatchesPerMiB,
            aligned[BatchMethod.Baseline2017].BatchesPerMiB, aligned[BatchMethod.ExtractPages].BatchesPerMiB));
    }
}
