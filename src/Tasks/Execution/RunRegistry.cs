using System.Diagnostics;
using System.Globalization;

namespace ProxyStack.Execution;

/// <summary>
/// Which `dotnet run` processes currently use a stack that is not kept: one file per process (named by its pid, holding its
/// start time so a reused pid is not mistaken for it) in a folder beside the stack's lock. The last one to end removes the
/// stack; a run that ends while another run of the same stack is alive leaves it to that one. Callers hold the stack lock.
/// </summary>
internal static class RunRegistry
{
    public static string FolderFor(string stack) => Path.Combine(Path.GetTempPath(), $"proxystack-{stack}.runs");

    /// <summary>Registers <paramref name="pid"/>; false when it was registered already (its reaper is running).</summary>
    public static bool Register(string stack, int pid)
    {
        var file = Path.Combine(FolderFor(stack), pid.ToString(CultureInfo.InvariantCulture));
        var marker = StartMarker(pid);
        if (File.Exists(file) && File.ReadAllText(file) == marker) return false;
        Directory.CreateDirectory(FolderFor(stack));
        File.WriteAllText(file, marker);
        return true;
    }

    public static void Unregister(string stack, int pid)
    {
        try { File.Delete(Path.Combine(FolderFor(stack), pid.ToString(CultureInfo.InvariantCulture))); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Registered runs other than <paramref name="pid"/> whose process is still alive (stale entries are removed).</summary>
    public static IReadOnlyList<int> OthersAlive(string stack, int pid)
    {
        var alive = new List<int>();
        if (!Directory.Exists(FolderFor(stack))) return alive;
        foreach (var file in Directory.EnumerateFiles(FolderFor(stack)))
        {
            if (!int.TryParse(Path.GetFileName(file), NumberStyles.None, CultureInfo.InvariantCulture, out var other) || other == pid) continue;
            string recorded;
            try { recorded = File.ReadAllText(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            if (StartMarker(other) == recorded && recorded.Length > 0) alive.Add(other);
            else Unregister(stack, other);
        }
        return alive;
    }

    /// <summary>
    /// The process's start time as text, or "" when it does not exist: alive and the same process iff equal. On Linux the raw
    /// start time in clock ticks from /proc (Process.StartTime is derived from the boot time, which two processes can compute
    /// a few ticks apart); elsewhere the start time to the second.
    /// </summary>
    public static string StartMarker(int pid)
    {
        var stat = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat";
        if (OperatingSystem.IsLinux())
        {
            try
            {
                // Fields after the command (which may hold spaces) start after the last ')': state is field 3, starttime 22.
                var text = File.ReadAllText(stat);
                var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
                return fields[0] is "Z" or "X" ? "" : fields[19];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException) { return ""; }
        }
        try
        {
            using var p = Process.GetProcessById(pid);
            return p.HasExited ? "" : (p.StartTime.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond).ToString(CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { return ""; }
    }
}
