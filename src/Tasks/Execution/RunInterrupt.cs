using System.Runtime.InteropServices;

namespace ProxyStack.Execution;

/// <summary>
/// Carries a Ctrl-C across the hand-over of `dotnet run`: between the bring-up (a task inside the `dotnet run` process) and
/// the moment the foreground program has installed its own handler, a Ctrl-C reaches only `dotnet run`, which ignores it
/// while it runs a program — the stack would stay up; and one that lands as the bring-up task returns is seen by nobody.
/// Armed when the bring-up starts, this notes any SIGINT of the process in a marker file beside the model; the program
/// checks the marker once its handler is in place and stops as if Ctrl-C had been pressed then. (A Ctrl-C the bring-up does
/// see cancels it and rolls back; `dotnet run` then never starts the program, and the marker is cleared by the next run.) It never cancels the signal: everything else `dotnet run` does with it still happens.
/// </summary>
internal static class RunInterrupt
{
    public const string FileName = "interrupted";
    private static readonly object Gate = new();
    private static readonly HashSet<string> Markers = new(StringComparer.Ordinal);
    private static PosixSignalRegistration? _registration;

    public static string MarkerPath(string modelFile) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelFile))!, FileName);

    /// <summary>A marker of an earlier run means nothing to this one.</summary>
    public static void Clear(string modelFile)
    {
        try { File.Delete(MarkerPath(modelFile)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    public static void Arm(string modelFile)
    {
        lock (Gate)
        {
            Markers.Add(MarkerPath(modelFile));
            _registration ??= PosixSignalRegistration.Create(PosixSignal.SIGINT, _ =>
            {
                lock (Gate)
                    foreach (var marker in Markers)
                    {
                        try { File.WriteAllText(marker, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)); }
                        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
                    }
            });
        }
    }

    /// <summary>Whether a Ctrl-C was noted for this model's run; the marker is consumed.</summary>
    public static bool Consume(string modelFile)
    {
        var marker = MarkerPath(modelFile);
        if (!File.Exists(marker)) return false;
        Clear(modelFile);
        return true;
    }
}
