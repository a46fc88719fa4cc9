namespace ProxyStack.MSBuild;

/// <summary>Writes a file atomically (temp file, then move) and only when its content differs, so timestamps stay honest.</summary>
internal static class StampFile
{
    public static bool WriteIfChanged(string path, string content)
    {
        if (File.Exists(path) && File.ReadAllText(path) == content) return false;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = path + "." + Environment.ProcessId + ".tmp";
        File.WriteAllText(temp, content);
        File.Move(temp, path, overwrite: true);
        return true;
    }
}
