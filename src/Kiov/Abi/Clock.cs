namespace Kiov.Abi;

/// <summary><c>CLOCK_*</c>: the clocks of clock_gettime, from include/uapi/linux/time.h.</summary>
internal static class Clock
{
    /// <summary><c>CLOCK_THREAD_CPUTIME_ID</c> = 3: the CPU time of the calling thread.</summary>
    public const int ThreadCpuTimeId = 3;
}
