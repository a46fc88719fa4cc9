namespace ProxyStack.Execution;

/// <summary>
/// The bring-up's progress lines under `dotnet run` when its output is a terminal. There the build's terminal logger redraws
/// its live status line ("HelloStack ApplyStack (3.7s)") in place, over whatever a task wrote below it: measured in tmux,
/// lines a task printed were overwritten or lost. So on a terminal the tasks append them to this file, and the foreground
/// program — which starts once the build and its live display have ended — prints them first, before the URL. Piped or
/// redirected (CI, tests, IDE consoles), nothing redraws and the tasks write them as they happen.
/// </summary>
internal static class RunProgress
{
    private static readonly object Gate = new();

    /// <summary>The file, beside the model file in the stack's intermediate folder.</summary>
    public static string PathIn(string stackDirectory) => Path.Combine(stackDirectory, "run-progress.txt");

    /// <summary>Whether lines go to the file: standard output is a terminal.</summary>
    public static bool Deferred => !Console.IsOutputRedirected;

    public static void Append(string stackDirectory, string line)
    {
        lock (Gate) File.AppendAllText(PathIn(stackDirectory), line + "\n");
    }

    /// <summary>Forgets lines left by a run that never reached its foreground program (a failed bring-up).</summary>
    public static void Clear(string stackDirectory) => File.Delete(PathIn(stackDirectory));

    /// <summary>The lines of this run's bring-up, removed as they are read.</summary>
    public static IReadOnlyList<string> Consume(string stackDirectory)
    {
        var path = PathIn(stackDirectory);
        if (!File.Exists(path)) return [];
        var lines = File.ReadAllLines(path);
        File.Delete(path);
        return lines;
    }
}
