namespace Kiov.Abi;

/// <summary>Signal numbers, from arch/x86/include/uapi/asm/signal.h (x86-64).</summary>
public static class Signal
{
    /// <summary><c>SIGKILL</c> = 9: ends the process; cannot be caught.</summary>
    public const int Kill = 9;
}
