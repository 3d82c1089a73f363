namespace Kiov.Abi;

/// <summary><c>SEEK_*</c>: the whence of lseek, from include/uapi/linux/fs.h.</summary>
public static class Seek
{
    /// <summary><c>SEEK_SET</c> = 0: from the start.</summary>
    public const int Set = 0;
    /// <summary><c>SEEK_CUR</c> = 1: from the file position.</summary>
    public const int Cur = 1;
    /// <summary><c>SEEK_END</c> = 2: from the end.</summary>
    public const int End = 2;
    /// <summary><c>SEEK_DATA</c> = 3: to the next data at or after the offset.</summary>
    public const int Data = 3;
    /// <summary><c>SEEK_HOLE</c> = 4: to the next hole at or after the offset.</summary>
    public const int Hole = 4;
    /// <summary><c>SEEK_MAX</c> = 4: the largest whence.</summary>
    public const int Max = Hole;
}
