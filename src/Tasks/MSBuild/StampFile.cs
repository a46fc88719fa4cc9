namespace ProxyStack.MSBuild;

/// <summary>
/// Writes a file atomically (temp file, then move), so a concurrent build of the same project — which reads the same obj
/// folder — sees the old content or the new, never an empty or half-written file.
/// </summary>
internal static class StampFile
{
    /// <summary>Writes only when the content differs, so timestamps stay honest.</summary>
    public static bool WriteIfChanged(string path, string content)
    {
        if (File.Exists(path) && File.ReadAllText(path) == content) return false;
        Write(path, content);
        return true;
    }

    /// <summary>Writes always: the stamp's time is what an Inputs/Outputs check compares.</summary>
    public static void Write(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = path + "." + Environment.ProcessId + ".tmp";
        File.WriteAllText(temp, content);
        File.Move(temp, path, overwrite: true);
    }
}
