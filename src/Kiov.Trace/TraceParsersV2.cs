using System.Text.Json;
using Kiov.Iov;
using Kiov.Mm;

namespace Kiov.Trace;

/// <summary>
/// The parsers of the operations docs/trace-format.md version 2 adds (files, memory, iovec arrays in user
/// memory), and of the version 2 fields of version 1 operations. Each turns the line's words into
/// the values the kernel is given, and refuses (as a trace error) what no runner could run safely.
/// </summary>
internal static class TraceParsersV2
{
    /// <summary>The most words one <c>poke</c> may write.</summary>
    public const int MaxPokeWords = 8192;

    public static TraceOp Memfd(TraceFields f)
    {
        uint flags = 0;
        if (f.Has("flags"))
            foreach (string w in f.Words("flags"))
                flags |= w switch
                {
                    "allow_sealing" => MemfdFlags.AllowSealing,
                    _ => throw f.Error($"unknown memfd flag \"{w}\" (allow_sealing)"),
                };
        return new MemfdOp(f.Line, flags);
    }

    public static TraceOp Reopen(TraceFields f)
    {
        int access = -1, flags = 0;
        foreach (string w in f.Words("flags"))
        {
            switch (w)
            {
                case "rdonly" or "wronly" or "rdwr":
                    if (access >= 0) throw f.Error("reopen flags hold more than one of rdonly, wronly, rdwr");
                    access = w == "rdonly" ? OpenFlags.RdOnly : w == "wronly" ? OpenFlags.WrOnly : OpenFlags.RdWr;
                    break;
                case "append": flags |= OpenFlags.Append; break;
                case "nonblock": flags |= OpenFlags.NonBlock; break;
                case "trunc": flags |= OpenFlags.Trunc; break;
                default: throw f.Error($"unknown reopen flag \"{w}\" (rdonly, wronly, rdwr, append, nonblock, trunc)");
            }
        }
        if (access < 0) throw f.Error("reopen flags must hold one of rdonly, wronly, rdwr");
        return new ReopenOp(f.Line, f.Int("fd"), flags | access);
    }

    public static TraceOp Lseek(TraceFields f)
    {
        string whence = f.String("whence");
        int w = whence switch
        {
            "set" => Seek.Set, "cur" => Seek.Cur, "end" => Seek.End, "data" => Seek.Data, "hole" => Seek.Hole,
            _ => throw f.Error($"unknown whence \"{whence}\" (set, cur, end, data, hole)"),
        };
        return new LseekOp(f.Line, f.Int("fd"), f.I64("offset"), w);
    }

    public static TraceOp Fcntl(TraceFields f)
    {
        int fd = f.Int("fd");
        string cmd = f.String("cmd");
        switch (cmd)
        {
            case "getpipe_sz": return new FcntlOp(f.Line, fd, Abi.Fcntl.GetPipeSize, 0);
            case "setpipe_sz": return new FcntlOp(f.Line, fd, Abi.Fcntl.SetPipeSize, f.U64("arg"));
            case "get_seals": return new FcntlOp(f.Line, fd, Abi.Fcntl.GetSeals, 0);
            case "getfl": return new FcntlOp(f.Line, fd, Abi.Fcntl.GetFl, 0, Mask: OpenFlags.AccMode | OpenFlags.Append | OpenFlags.NonBlock);
            case "add_seals":
                ulong seals = 0;
                foreach (string w in f.Words("arg"))
                    seals |= w switch
                    {
                        "seal" => (ulong)Seals.Seal, "shrink" => (ulong)Seals.Shrink, "grow" => (ulong)Seals.Grow,
                        "write" => (ulong)Seals.Write, "future_write" => (ulong)Seals.FutureWrite,
                        _ => throw f.Error($"unknown seal \"{w}\" (seal, shrink, grow, write, future_write)"),
                    };
                return new FcntlOp(f.Line, fd, Abi.Fcntl.AddSeals, seals);
            case "setfl":
                ulong fl = 0;
                foreach (string w in f.Words("arg"))
                    fl |= w switch
                    {
                        "append" => OpenFlags.Append, "nonblock" => OpenFlags.NonBlock,
                        _ => throw f.Error($"unknown setfl flag \"{w}\" (append, nonblock)"),
                    };
                return new FcntlOp(f.Line, fd, Abi.Fcntl.SetFl, fl);
            default:
                throw f.Error($"unknown fcntl cmd \"{cmd}\" (getpipe_sz, setpipe_sz, add_seals, get_seals, getfl, setfl)");
        }
    }

    public static TraceOp Tee(TraceFields f) => new TeeOp(f.Line, f.Int("fd_in"), f.Int("fd_out"), f.U64("len"));

    /// <summary>RWF_* flags from the words of <c>flags</c>.</summary>
    private static int RwFlags(TraceFields f)
    {
        int flags = 0;
        foreach (string w in f.Words("flags"))
            flags |= w switch
            {
                "hipri" => (int)Rwf.HiPri, "dsync" => (int)Rwf.DSync, "sync" => (int)Rwf.Sync, "nowait" => (int)Rwf.NoWait,
                "append" => (int)Rwf.Append, "noappend" => (int)Rwf.NoAppend,
                _ => throw f.Error($"unknown flag \"{w}\" (hipri, dsync, sync, nowait, append, noappend)"),
            };
        return flags;
    }

    /// <summary>A vectored op: with <c>iov_addr</c> (and <c>iovcnt</c>) the array is in user memory;
    /// otherwise <paramref name="list"/> makes the op from the <c>iov</c> list.</summary>
    public static TraceOp Vector(TraceFields f, VectorCall call, Func<IoVec[], TraceOp> list)
    {
        if (!f.Has("iov_addr")) return list(f.CopyIoVecs("iov"));
        if (f.Has("iov")) throw f.Error("an op takes either \"iov\" or \"iov_addr\" and \"iovcnt\", not both");
        ulong addr = f.U64("iov_addr");
        CheckAddress(f, "iov_addr", addr);
        bool offset = call is VectorCall.Preadv or VectorCall.Pwritev or VectorCall.Preadv2 or VectorCall.Pwritev2;
        bool flags = call is VectorCall.Preadv2 or VectorCall.Pwritev2;
        return new VectorAtOp(f.Line, call, f.Int("fd"), addr, f.U64("iovcnt"),
            offset ? f.I64("offset") : 0, flags ? RwFlags(f) : 0);
    }

    public static TraceOp Preadv2(TraceFields f) =>
        Vector(f, VectorCall.Preadv2, iov => new Preadv2Op(f.Line, f.Int("fd"), iov, f.I64("offset"), RwFlags(f)));

    public static TraceOp Pwritev2(TraceFields f) =>
        Vector(f, VectorCall.Pwritev2, iov => new Pwritev2Op(f.Line, f.Int("fd"), iov, f.I64("offset"), RwFlags(f)));

    /// <summary><c>process_vm_*</c>: with <c>local_addr</c> the four array fields, else the two lists.</summary>
    public static TraceOp ProcessVm(TraceFields f, bool write, Func<TraceOp> lists)
    {
        if (!f.Has("local_addr") && !f.Has("remote_addr")) return lists();
        ulong l = f.U64("local_addr"), r = f.U64("remote_addr");
        CheckAddress(f, "local_addr", l);
        CheckAddress(f, "remote_addr", r);
        return new ProcessVmAtOp(f.Line, write, l, f.U64("local_cnt"), r, f.U64("remote_cnt"));
    }

    public static TraceOp Poke(TraceFields f)
    {
        ulong addr = f.U64("addr");
        JsonElement words = f.Required("u64");
        if (words.ValueKind != JsonValueKind.Array) throw f.Error("field \"u64\" must be a list of numbers");
        int n = words.GetArrayLength();
        if (n > MaxPokeWords) throw f.Error($"poke writes at most {MaxPokeWords} words");
        var bytes = new byte[n * 8];
        int i = 0;
        foreach (JsonElement w in words.EnumerateArray())
        {
            if (!TraceNumber.TryRead(w, out ulong v)) throw f.Error($"field \"u64\" element {i} must be an integer that fits in 64 bits");
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), v);
            i++;
        }
        if (n != 0) CheckAddress(f, "addr", addr);
        return new PokeOp(f.Line, addr, bytes);
    }

    public static TraceOp Mremap(TraceFields f)
    {
        ulong addr = f.U64("addr"), oldLen = f.U64("old_len"), newLen = f.U64("new_len");
        int flags = 0;
        foreach (string w in f.Words("flags"))
            flags |= w switch
            {
                "maymove" => Abi.Mremap.MayMove, "fixed" => Abi.Mremap.Fixed, "dontunmap" => Abi.Mremap.DontUnmap,
                _ => throw f.Error($"unknown mremap flag \"{w}\" (maymove, fixed, dontunmap)"),
            };
        if ((flags & Abi.Mremap.MayMove) != 0 && (flags & Abi.Mremap.Fixed) == 0)
            throw f.Error("mremap with \"maymove\" needs \"fixed\": the kernel would choose the address");
        ulong newAddr = f.Has("new_addr") ? f.U64("new_addr") : 0;
        CheckRange(f, "addr", addr, oldLen);
        // Without maymove the area can only grow in place, from addr on.
        if ((flags & Abi.Mremap.MayMove) == 0) CheckRange(f, "addr", addr, newLen);
        else CheckRange(f, "new_addr", newAddr, newLen);
        return new MremapOp(f.Line, addr, oldLen, newLen, flags, newAddr);
    }

    public static TraceOp Mlock(TraceFields f, bool lockIt)
    {
        ulong addr = f.U64("addr"), len = f.U64("len");
        CheckRange(f, "addr", addr, len);
        return new MlockOp(f.Line, addr, len, lockIt);
    }

    public static TraceOp Msync(TraceFields f)
    {
        ulong addr = f.U64("addr"), len = f.U64("len");
        int flags = 0;
        foreach (string w in f.Words("flags"))
            flags |= w switch
            {
                "async" => Ms.Async, "sync" => Ms.Sync, "invalidate" => Ms.Invalidate,
                _ => throw f.Error($"unknown msync flag \"{w}\" (async, sync, invalidate)"),
            };
        CheckRange(f, "addr", addr, len);
        return new MsyncOp(f.Line, addr, len, flags);
    }

    public static TraceOp Mincore(TraceFields f)
    {
        ulong addr = f.U64("addr"), len = f.U64("len");
        CheckRange(f, "addr", addr, len);
        return new MincoreOp(f.Line, addr, len);
    }

    /// <summary>The advice words of <c>madvise</c> (docs/trace-format.md version 2).</summary>
    public static int Advice(TraceFields f)
    {
        string advice = f.String("advice");
        return advice switch
        {
            "normal" => Madv.Normal, "random" => Madv.Random, "sequential" => Madv.Sequential,
            "willneed" => Madv.WillNeed, "dontneed" => Madv.DontNeed, "free" => Madv.Free,
            "remove" => Madv.Remove, "dontfork" => Madv.DontFork, "dofork" => Madv.DoFork,
            "wipeonfork" => Madv.WipeOnFork, "keeponfork" => Madv.KeepOnFork, "cold" => Madv.Cold,
            "pageout" => Madv.PageOut, "populate_read" => Madv.PopulateRead, "populate_write" => Madv.PopulateWrite,
            _ => throw f.Error($"unknown advice \"{advice}\" (normal, random, sequential, willneed, dontneed, free, remove, dontfork, dofork, wipeonfork, keeponfork, cold, pageout, populate_read, populate_write)"),
        };
    }

    /// <summary>The mmap flag words of version 2 beside those of version 1.</summary>
    public static int MmapFlag(string word) => word switch
    {
        "populate" => MapFlags.Populate,
        "noreserve" => MapFlags.NoReserve,
        "locked" => MapFlags.Locked,
        "growsdown" => MapFlags.GrowsDown,
        "shared_validate" => MapFlags.SharedValidate,
        "fixed_noreplace" => MapFlags.FixedNoReplace,
        _ => 0,
    };

    /// <summary>docs/trace-format.md "The arena": an address a call may reach (the start of an iovec array, a
    /// poke) is one <see cref="TraceArena.MayCopyAt"/> allows.</summary>
    public static void CheckAddress(TraceFields f, string field, ulong addr)
    {
        if (TraceArena.MayCopyAt(addr)) return;
        throw f.Error($"field \"{field}\" 0x{addr:x} lies outside the arena [0x{TraceArena.Start:x}, 0x{TraceArena.End:x}) where a runner's own memory may be");
    }

    /// <summary>docs/trace-format.md "The arena": a range a call acts on as a whole is one
    /// <see cref="TraceArena.MayActOn"/> allows.</summary>
    public static void CheckRange(TraceFields f, string field, ulong addr, ulong len)
    {
        if (TraceArena.MayActOn(addr, len)) return;
        throw f.Error($"the range [0x{addr:x}, +0x{len:x}) of \"{field}\" reaches outside the arena [0x{TraceArena.Start:x}, 0x{TraceArena.End:x}) where a runner's own memory may be");
    }
}
