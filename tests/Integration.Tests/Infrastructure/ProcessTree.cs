namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>
/// A process and its descendants as Linux's /proc shows them, with the settings of their terminal: which process group the
/// terminal sends Ctrl-C to, which signals each process catches, ignores, blocks or has pending, and where each one sleeps.
/// Empty elsewhere than on Linux.
/// </summary>
public static class ProcessTree
{
    public static async Task<IReadOnlyList<string>> DescribeAsync(int root)
    {
        if (!OperatingSystem.IsLinux()) return [];
        // Each process's /proc stat from its state on (state, parent, group, session, terminal, the terminal's foreground group, …).
        var stats = new Dictionary<int, string[]>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), out var pid) && ProxyStack.Execution.RunRegistry.StatFields(pid) is { } fields) stats[pid] = fields;
        var tree = new List<int>();
        var next = new Queue<int>([root]);
        while (next.TryDequeue(out var pid))
        {
            tree.Add(pid);
            foreach (var child in stats.Where(s => s.Value.Length > 1 && s.Value[1] == pid.ToString(System.Globalization.CultureInfo.InvariantCulture)).Select(s => s.Key).Order()) next.Enqueue(child);
        }
        var lines = new List<string> { "pid ppid pgrp session tpgid state wchan | SigPnd ShdPnd SigBlk SigIgn SigCgt | command" };
        string? terminal = null;
        foreach (var pid in tree)
        {
            if (!stats.TryGetValue(pid, out var f) || f.Length < 6) continue;
            var status = Read($"/proc/{pid}/status").Split('\n');
            var masks = string.Join(' ', new[] { "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt" }
                .Select(k => status.FirstOrDefault(l => l.StartsWith(k + ":", StringComparison.Ordinal))?[(k.Length + 1)..].Trim() ?? "?"));
            var command = string.Join(' ', ProxyStack.Execution.RunOwner.CommandLineOf(pid));
            lines.Add($"{pid} {f[1]} {f[2]} {f[3]} {f[5]} {f[0]} {Read($"/proc/{pid}/wchan")} | {masks} | {(command.Length > 160 ? command[..160] + " …" : command)}");
            if (terminal is null && Link($"/proc/{pid}/fd/0") is { } input && input.StartsWith("/dev/pts/", StringComparison.Ordinal)) terminal = input;
        }
        // Its settings (isig: whether Ctrl-C becomes SIGINT at all).
        if (terminal is not null) lines.Add($"{terminal}: {(await Cli.RunAsync(Cli.Program("stty", "/", "-a", "-F", terminal), TimeSpan.FromSeconds(5))).Output.ReplaceLineEndings(" ").Trim()}");
        return lines;
    }

    private static string Read(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }

    private static string? Link(string path)
    {
        try { return new FileInfo(path).LinkTarget; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
