using Kiov.Concurrency;
using Kiov.Iov;
using Kiov.Memory;

namespace Kiov.Fs;

// vmsplice converted to Al Viro's proposed primitive (behind KernelConfig.VmspliceBatchPrimitive): the
// conversion the seed thread planned for get_pages callers, one at a time. The primitive takes FOLL_GET
// references (a pipe buffer holds a reference, never a pin), the consumer hands each page's reference to
// the pipe, and when the pipe refuses a page the primitive reverts the iterator by the rest and drops the
// references the pipe did not take, exactly what iter_to_pipe does by hand.
public static partial class Syscalls
{
    private static long VmspliceToPipeBatched(Pipe pipe, ref IovIter from, bool nonBlock)
    {
        Sched.Lock(pipe.Lock);
        lock (pipe.Lock)
        {
            int space = pipe.WaitForSpaceLocked(nonBlock);
            if (space != 0) return space;
            var feed = new PipeFeeder(pipe);
            return from.ForEachPageBatch(ulong.MaxValue, ref feed, PageBatchFlags.GetRefs);
        }
    }

    // Adds one buffer per page; the pipe keeps the reference of each page it accepts.
    private readonly struct PipeFeeder(Pipe pipe) : IPageBatchConsumer
    {
        public long Consume(scoped PageBatch batch)
        {
            long taken = 0;
            for (int i = 0; i < batch.Count; i++)
            {
                Page page = batch[i];
                uint len = (uint)batch.LengthOf(i);
                long added = pipe.AddLocked(new PipeBuffer(page, i == 0 ? (uint)batch.Offset : 0, len, PipeBufferKind.UserPage));
                if (added < 0)
                {
                    pipe.Memory.Get(page); // a refusal drops the reference handed in: give the primitive its own back
                    batch.KeepPages(i);
                    return taken != 0 ? taken : added;
                }
                taken += added;
            }
            batch.KeepPages(batch.Count);
            return taken;
        }
    }
}
