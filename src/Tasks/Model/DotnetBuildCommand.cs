namespace ProxyStack.Model;

/// <summary>
/// The `dotnet build` command a message tells the user to run, made to work where they typed the last one: bare
/// ("dotnet build -t:StackDown") only in the project's own folder, and only when no other project or solution file is there
/// (dotnet build would refuse that folder as ambiguous, MSB1011); elsewhere (a solution root, where the bare form would run
/// the target on every project of the solution, or `dotnet run --project`) it names the project file by its full path. Not
/// by a relative one: PWD is the shell's, and a program started by an IDE without a shell inherits a PWD that may not be its
/// folder at all, where a relative path would be wrong and a full one is merely long.
/// </summary>
internal static class DotnetBuildCommand
{
    /// <summary>Where the user is: the shell's PWD, since MSBuild moves the process's own directory to the project's.</summary>
    public static string For(string projectFile, string arguments) => For(projectFile, arguments, Environment.GetEnvironmentVariable("PWD"));

    /// <param name="projectFile">Full path; empty (unknown) gives the bare form.</param>
    /// <param name="arguments">Example: -t:StackDown</param>
    /// <param name="shellDirectory">The user's directory; null or relative (unknown, as on Windows) gives the full path.</param>
    public static string For(string projectFile, string arguments, string? shellDirectory)
    {
        if (projectFile.Length == 0) return $"dotnet build {arguments}";
        if (shellDirectory is { Length: > 0 } && Path.IsPathFullyQualified(shellDirectory)
            && Path.GetRelativePath(shellDirectory, projectFile) == Path.GetFileName(projectFile) && IsAloneInItsFolder(projectFile))
            return $"dotnet build {arguments}";
        return $"dotnet build {Quoted(projectFile)} {arguments}";
    }

    /// <summary>No other file dotnet build would pick in the folder: a project (*.*proj) or a solution (*.sln, *.slnx).</summary>
    private static bool IsAloneInItsFolder(string projectFile)
    {
        try
        {
            return !Directory.EnumerateFiles(Path.GetDirectoryName(projectFile)!)
                .Any(f => !string.Equals(Path.GetFileName(f), Path.GetFileName(projectFile), StringComparison.OrdinalIgnoreCase)
                    && Path.GetExtension(f) is var e && (e.EndsWith("proj", StringComparison.OrdinalIgnoreCase)
                        || e.Equals(".sln", StringComparison.OrdinalIgnoreCase) || e.Equals(".slnx", StringComparison.OrdinalIgnoreCase)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string Quoted(string path) => path.Any(char.IsWhiteSpace) ? $"\"{path}\"" : path;
}
