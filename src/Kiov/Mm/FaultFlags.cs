namespace Kiov.Mm;

/// <summary>The <c>FAULT_FLAG_*</c> bits GUP's <c>faultin_page</c> passes to <c>handle_mm_fault</c>
/// (the values of include/linux/mm_types.h); the access itself is passed apart.</summary>
[Flags]
internal enum FaultFlags
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary><c>FAULT_FLAG_ALLOW_RETRY</c>: the fault may drop the mmap lock to wait, and return VM_FAULT_RETRY.</summary>
    AllowRetry = 1 << 2,
    /// <summary><c>FAULT_FLAG_RETRY_NOWAIT</c>: give up with VM_FAULT_RETRY rather than wait, keeping the mmap lock.</summary>
    RetryNoWait = 1 << 3,
    /// <summary><c>FAULT_FLAG_KILLABLE</c>: a wait may be ended by a fatal signal (the model sends none).</summary>
    Killable = 1 << 4,
    /// <summary><c>FAULT_FLAG_TRIED</c>: the second try after a VM_FAULT_RETRY; it waits holding the lock.</summary>
    Tried = 1 << 5,
}
