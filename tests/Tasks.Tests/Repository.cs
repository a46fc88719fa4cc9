using System.Reflection;

namespace ProxyStack.Tests;

/// <summary>Paths into the repository, recorded at build time (build/Repository.targets).</summary>
internal static class Repository
{
    public static string Root { get; } = typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>The C# files under a folder of the repository, build output (bin/, obj/) left out.</summary>
    public static IEnumerable<string> SourceFiles(params string[] folder) =>
        Directory.EnumerateFiles(File(folder), "*.cs", SearchOption.AllDirectories)
            .Where(f => Path.GetRelativePath(File(folder), f).Split(Path.DirectorySeparatorChar) is var parts && !parts.Contains("bin") && !parts.Contains("obj"));
}
