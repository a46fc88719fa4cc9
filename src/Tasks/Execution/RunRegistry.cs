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

    /// <summary>
    /// Removes <paramref name="pid"/>'s registration, and the stack's folder once it holds none, so that runs leave nothing in
    /// the temp folder. Called under the stack lock, as <see cref="Register"/> is, so no registration races the removal.
    /// </summary>
    public static void Unregister(string stack, int pid)
    {
        var folder = FolderFor(stack);
        try
        {
            File.Delete(Path.Combine(folder, pid.ToString(CultureInfo.InvariantCulture)));
            if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Registered runs other than <paramref name="pid"/> whose process is still alive (ended ones are removed).</summary>
    public static IReadOnlyList<int> OthersAlive(string stack, int pid) => RemoveEnded(stack).Where(p => p != pid).ToList();

    /// <summary>
    /// Removes the registrations of runs whose process has ended (or whose pid now belongs to another process), and the
    /// stack's folder once it holds none; returns the runs still alive. StackDown calls it so that a run killed together with
    /// its reaper leaves nothing behind.
    /// </summary>
    public static IReadOnlyList<int> RemoveEnded(string stack)
    {
        var alive = new List<int>();
        if (!Directory.Exists(FolderFor(stack))) return alive;
        foreach (var file in Directory.EnumerateFiles(FolderFor(stack)))
        {
            if (!int.TryParse(Path.GetFileName(file), NumberStyles.None, CultureInfo.InvariantCulture, out var run)) continue;
            string recorded;
            try { recorded = File.ReadAllText(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            if (StartMarker(run) == recorded && recorded.Length > 0) alive.Add(run);
            else Unregister(stack, run);
        }
        return alive;
    }

    /// <summary>
    /// Linux's /proc/&lt;pid&gt;/stat from field 3 (state) on — the fields after the command, which may hold spaces, start after
    /// the last ')' — or null when the process does not exist or cannot be read.
    /// </summary>
    internal static string[]? StatFields(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var start = text.LastIndexOf(')') + 2;
            return start >= 2 && start <= text.Length ? text[start..].Split(' ') : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>
    /// The process's start time as text, or "" when it does not exist: alive and the same process iff equal. On Linux the raw
    /// start time in clock ticks from /proc (Process.StartTime is derived from the boot time, which two processes can compute
    /// a few ticks apart); elsewhere the start time to the second.
    /// </summary>
    public static string StartMarker(int pid)
    {
        if (OperatingSystem.IsLinux())
            // State is field 3, starttime 22 (StatFields starts at field 3).
            return StatFields(pid) is { Length: > 19 } fields && fields[0] is not ("Z" or "X") ? fields[19] : "";
        try
        {
            using var p = Process.GetProcessById(pid);
            return p.HasExited ? "" : (p.StartTime.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond).ToString(CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { return ""; }
    }
}

/// <summary>
/// The process whose end ends a `dotnet run` stack: the one that registers with <see cref="RunRegistry"/> and that the reaper
/// watches. Under `dotnet watch` that is dotnet watch itself, the outermost of its processes: it restarts `dotnet run` on every
/// saved change, and the stack outlives those restarts, so the next run replaces the replicas rolling instead of bringing the
/// stack up from nothing. Found by its command line among the caller's ancestors, not by DOTNET_WATCH: with Hot Reload, watch
/// hands that variable to `dotnet run` as `-e DOTNET_WATCH=1`, for the app only, so the build does not see it (measured on
/// 10.0.401). Elsewhere, and where the process tree cannot be read (only Linux's /proc is read), the calling process itself.
/// </summary>
internal static class RunOwner
{
    /// <summary>How far up the process tree dotnet watch is looked for (measured on 10.0.401: runner → dotnet run → dotnet-watch.dll → dotnet watch).</summary>
    private const int Depth = 8;

    public static int Find(int self) => OperatingSystem.IsLinux() ? Find(self, ParentOf, CommandLineOf) : self;

    public static int Find(int self, Func<int, int> parentOf, Func<int, IReadOnlyList<string>> commandLineOf)
    {
        var owner = self;
        for (int pid = self, depth = 0; pid > 1 && depth < Depth; pid = parentOf(pid), depth++)
            if (IsDotnetWatch(commandLineOf(pid))) owner = pid;
        return owner;
    }

    /// <summary>
    /// The command line of the nearest `dotnet run` among <paramref name="self"/> and its ancestors — the build's own process
    /// under `dotnet run`, or the parent of its worker node or task host; empty where there is none within reach (the MSBuild
    /// server builds outside dotnet run's tree) or the process tree cannot be read (only Linux's /proc is read).
    /// </summary>
    public static IReadOnlyList<string> DotnetRunCommandLine(int self)
    {
        if (!OperatingSystem.IsLinux()) return [];
        for (int pid = self, depth = 0; pid > 1 && depth < Depth; pid = ParentOf(pid), depth++)
            if (CommandLineOf(pid) is var args && Model.LaunchProfiles.IsDotnetRun(args)) return args;
        return [];
    }

    /// <summary>`dotnet watch …` (the muxer) or `dotnet …/dotnet-watch.dll …` (the tool it starts).</summary>
    public static bool IsDotnetWatch(IReadOnlyList<string> args) =>
        args.Any(a => Path.GetFileName(a) == "dotnet-watch.dll")
        || args.Count > 1 && Path.GetFileNameWithoutExtension(args[0]) == "dotnet" && args[1] == "watch";

    /// <summary>The parent from /proc/&lt;pid&gt;/stat (field 4); 0 when it cannot be read.</summary>
    public static int ParentOf(int pid) =>
        RunRegistry.StatFields(pid) is { Length: > 1 } fields && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent) ? parent : 0;

    /// <summary>A process's arguments from /proc/&lt;pid&gt;/cmdline; empty when it cannot be read.</summary>
    internal static IReadOnlyList<string> CommandLineOf(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }
}
