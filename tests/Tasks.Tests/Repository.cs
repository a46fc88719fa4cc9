using System.Reflection;

namespace ProxyStack.Tests;

/// <summary>Paths into the repository, recorded at build time (build/Repository.targets).</summary>
internal static class Repository
{
    public static string Root { get; } = typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);
}
