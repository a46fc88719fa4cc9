using System.Reflection;

namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>Paths into the repository and the build configuration, recorded at build time (build/Repository.targets).</summary>
internal static class Repository
{
    private static string Metadata(string key) => typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    public static string Root { get; } = Metadata("RepositoryRoot");
    public static string Configuration { get; } = Metadata("Configuration");
    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);
    /// <summary>
    /// The tasks as the package ships them (ProxyStack.Integration.Tests.csproj lays them out after its build), loaded from a
    /// copy named by the task assembly's hash. The tests' builds reuse MSBuild nodes and the MSBuild server, which keep a
    /// task assembly loaded for as long as they live: at a fixed path, a node left by an earlier run served the tasks as
    /// they were before a rebuild (seen: a test passed with the check it covers compiled out). A new build gets a new path.
    /// </summary>
    public static string TasksAssembly { get; } = HashedTasksLayout();

    private static string HashedTasksLayout()
    {
        var layout = Path.TrimEndingDirectorySeparator(Metadata("TasksLayout"));
        using (var assembly = System.IO.File.OpenRead(Path.Combine(layout, "ProxyStack.Tasks.dll")))
        {
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(assembly))[..12];
            var copy = $"{layout}-{hash}";
            if (!Directory.Exists(copy))
            {
                var staging = $"{copy}.{Environment.ProcessId}";
                Directory.CreateDirectory(staging);
                foreach (var file in Directory.EnumerateFiles(layout, "*", SearchOption.AllDirectories))
                {
                    var target = Path.Combine(staging, Path.GetRelativePath(layout, file));
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    System.IO.File.Copy(file, target);
                }
                try { Directory.Move(staging, copy); }
                catch (IOException) when (Directory.Exists(copy)) { Directory.Delete(staging, recursive: true); }
            }
            // Copies of earlier builds go (a node still holding one keeps its open files; Linux and macOS allow that).
            foreach (var stale in Directory.EnumerateDirectories(Path.GetDirectoryName(layout)!, Path.GetFileName(layout) + "-*"))
                if (stale != copy) try { Directory.Delete(stale, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            return Path.Combine(copy, "ProxyStack.Tasks.dll");
        }
    }

    /// <summary>The registry mirror the tests use: CI and this machine have no route to public registries.</summary>
    public static string Mirror => Environment.GetEnvironmentVariable("PROXYSTACK_TEST_MIRROR") ?? "localhost:5000";
}
