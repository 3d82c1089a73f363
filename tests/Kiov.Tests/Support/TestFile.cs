using Kiov.Memory;
using Kiov.Mm;

namespace Kiov.Tests.Support;

/// <summary>
/// A minimal mappable file for Mm tests (the file layer implements the real ones): a page cache
/// of <paramref name="pages"/> pages, opened read-only or read-write, with extra VMA flags its
/// mmap adds. <see cref="Dispose"/> truncates it, dropping the cache's references.
/// </summary>
public sealed class TestFile(PhysicalMemory memory, long pages, bool openForWrite = true, VmFlags mmapFlags = VmFlags.None)
    : IMappableFile, IDisposable
{
    private int _maps;

    public PageCache Cache { get; } = new(memory);
    public int Maps => Volatile.Read(ref _maps);
    public string Name => "testfile";
    public bool OpenForRead => true;
    public bool OpenForWrite => openForWrite;
    public bool HasMmap => true;
    public VmFlags MmapFlags => mmapFlags;
    public Page Fault(long index) => index >= 0 && index < pages ? Cache.FindOrCreate(index) : Page.Null;
    public void OnMap(AddressSpace mm, Vma vma) => Interlocked.Increment(ref _maps);
    public void OnUnmap(AddressSpace mm, Vma vma) => Interlocked.Decrement(ref _maps);
    public void Dispose() => Cache.RemoveFrom(0);
}

/// <summary>A device whose mmap is VM_IO | VM_PFNMAP (a frame buffer, MMIO): its frames are mapped as
/// special entries with no struct-page reference.</summary>
public sealed class PfnDevice : IMappableFile, IDisposable
{
    private readonly PhysicalMemory _memory;
    private readonly Page[] _frames;

    public PfnDevice(PhysicalMemory memory, int pages)
    {
        _memory = memory;
        _frames = new Page[pages];
        for (int i = 0; i < pages; i++) _frames[i] = memory.Alloc(PageOwner.KernelBuffer);
    }

    public string Name => "pfndevice";
    public bool OpenForRead => true;
    public bool OpenForWrite => true;
    public bool HasMmap => true;
    public VmFlags MmapFlags => VmFlags.Io | VmFlags.PfnMap;
    public Page Fault(long index)
    {
        if (index >= _frames.Length) return Page.Null;
        _memory.Get(_frames[index]);
        return _frames[index];
    }
    public void OnMap(AddressSpace mm, Vma vma) { }
    public void OnUnmap(AddressSpace mm, Vma vma) { }
    public void Dispose() { foreach (var f in _frames) _memory.Put(f); }
}
