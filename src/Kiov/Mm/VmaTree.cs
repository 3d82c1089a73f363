using Kiov.Memory;

namespace Kiov.Mm;

/// <summary>
/// The areas of an address space, ordered by address, in a treap: O(log n) lookup, insertion and
/// removal (the kernel uses a maple tree). Areas never overlap, so ordering by start orders by end
/// too. Protected by the owner's mmap lock: written under the write lock, read under either.
/// </summary>
internal sealed class VmaTree
{
    private sealed class Node(Vma vma, uint priority)
    {
        public readonly Vma Vma = vma;
        public readonly uint Priority = priority;
        public Node? Left, Right;
    }

    private Node? _root;
    private uint _seed = 0x9e3779b9;

    /// <summary>How many areas (<c>mm->map_count</c>).</summary>
    public int Count { get; private set; }

    /// <summary><c>find_vma</c>: the first area that ends above <paramref name="addr"/>, or null.</summary>
    public Vma? FindFirstEndingAbove(ulong addr)
    {
        Vma? best = null;
        for (var n = _root; n != null;)
        {
            if (n.Vma.End > addr) { best = n.Vma; n = n.Left; }
            else n = n.Right;
        }
        return best;
    }

    /// <summary><c>vma_lookup</c>: the area containing <paramref name="addr"/>, or null.</summary>
    public Vma? Find(ulong addr)
    {
        var v = FindFirstEndingAbove(addr);
        return v != null && v.Start <= addr ? v : null;
    }

    /// <summary>The area after <paramref name="vma"/> (<c>vma_next</c>), or null.</summary>
    public Vma? Next(Vma vma) => FindFirstEndingAbove(vma.End);

    /// <summary>The last area that ends at or below <paramref name="addr"/> (<c>vma_prev</c> of a gap), or null.</summary>
    public Vma? FindLastEndingAtOrBelow(ulong addr)
    {
        Vma? best = null;
        for (var n = _root; n != null;)
        {
            if (n.Vma.End <= addr) { best = n.Vma; n = n.Right; }
            else n = n.Left;
        }
        return best;
    }

    /// <summary>The first area that overlaps [start, end), or null.</summary>
    public Vma? FirstOverlapping(ulong start, ulong end)
    {
        var v = FindFirstEndingAbove(start);
        return v != null && v.Start < end ? v : null;
    }

    /// <summary>Adds an area that overlaps none already present.</summary>
    public void Insert(Vma vma)
    {
        _seed ^= _seed << 13; _seed ^= _seed >> 17; _seed ^= _seed << 5;
        _root = Insert(_root, new Node(vma, _seed));
        Count++;
    }

    private static Node Insert(Node? n, Node fresh)
    {
        if (n == null) return fresh;
        if (fresh.Vma.Start < n.Vma.Start)
        {
            n.Left = Insert(n.Left, fresh);
            if (n.Left.Priority > n.Priority) n = RotateRight(n);
        }
        else
        {
            n.Right = Insert(n.Right, fresh);
            if (n.Right.Priority > n.Priority) n = RotateLeft(n);
        }
        return n;
    }

    /// <summary>Removes an area (by identity); its Start must not have changed since insertion.</summary>
    public void Remove(Vma vma)
    {
        bool found = false;
        _root = Remove(_root, vma, ref found);
        if (!found) throw new KiovBugException($"VMA {vma} is not in the tree");
        Count--;
    }

    private static Node? Remove(Node? n, Vma vma, ref bool found)
    {
        if (n == null) return null;
        if (ReferenceEquals(n.Vma, vma))
        {
            found = true;
            return Merge(n.Left, n.Right);
        }
        if (vma.Start < n.Vma.Start) n.Left = Remove(n.Left, vma, ref found);
        else n.Right = Remove(n.Right, vma, ref found);
        return n;
    }

    private static Node? Merge(Node? a, Node? b)
    {
        if (a == null) return b;
        if (b == null) return a;
        if (a.Priority > b.Priority) { a.Right = Merge(a.Right, b); return a; }
        b.Left = Merge(a, b.Left);
        return b;
    }

    private static Node RotateRight(Node n) { var l = n.Left!; n.Left = l.Right; l.Right = n; return l; }
    private static Node RotateLeft(Node n) { var r = n.Right!; n.Right = r.Left; r.Left = n; return r; }

    /// <summary>
    /// Checks the tree's invariants (the model's <c>validate_mm</c> under CONFIG_DEBUG_VM_MAPLE_TREE):
    /// search-tree order by start, heap order of priorities, the count, and for every area a
    /// non-empty, page-aligned range inside user space [<see cref="Layout.MmapMinAddr"/> or 0,
    /// <see cref="Layout.TaskSizeMax"/>) that does not overlap the next. Throws
    /// <see cref="KiovBugException"/> naming the first broken one. For tests; caller holds the mmap lock.
    /// </summary>
    public void CheckInvariants()
    {
        int count = 0;
        Vma? prev = null;
        CheckNode(_root, 0, ulong.MaxValue, uint.MaxValue, ref count, ref prev);
        if (count != Count) throw new KiovBugException($"VMA tree holds {count} areas but counts {Count}");
    }

    // In-order walk: every start in [lo, hi], priorities not above the parent's.
    private static void CheckNode(Node? n, ulong lo, ulong hi, uint maxPriority, ref int count, ref Vma? prev)
    {
        if (n == null) return;
        Vma v = n.Vma;
        if (n.Priority > maxPriority) throw new KiovBugException($"VMA tree heap order broken at {v}");
        if (v.Start < lo || v.Start > hi) throw new KiovBugException($"VMA tree search order broken at {v}");
        CheckNode(n.Left, lo, v.Start, n.Priority, ref count, ref prev);
        if (v.Start >= v.End) throw new KiovBugException($"empty or inverted VMA {v}");
        if (((v.Start | v.End) & (PageGeometry.PageSize - 1)) != 0) throw new KiovBugException($"unaligned VMA {v}");
        if (v.End > Layout.TaskSizeMax) throw new KiovBugException($"VMA {v} reaches past TASK_SIZE_MAX");
        if (prev != null && prev.End > v.Start) throw new KiovBugException($"VMAs {prev} and {v} overlap or are out of order");
        prev = v;
        count++;
        CheckNode(n.Right, v.Start, hi, n.Priority, ref count, ref prev);
    }

    /// <summary>Every area in address order (allocates: for reports and tests, not hot paths).</summary>
    public List<Vma> ToList()
    {
        var list = new List<Vma>(Count);
        for (var v = FindFirstEndingAbove(0); v != null; v = Next(v)) list.Add(v);
        return list;
    }
}
