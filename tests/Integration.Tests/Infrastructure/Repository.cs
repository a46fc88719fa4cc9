using System.Reflection;

namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>Paths into the repository and the build configuration, recorded at build time (build/Repository.targets).</summary>
internal static class Repository
{
    private static string Metadata(string key) => typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    public static string Root { get; } = Metadata("RepositoryRoot");
    public static string Configuration { get; } = Metadata("Configuration");
    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);
    /// <summary>The tasks as the package ships them (ProxyStack.Integration.Tests.csproj lays them out after its build).</summary>
    public static string TasksAssembly { get; } = Path.Combine(Metadata("TasksLayout"), "ProxyStack.Tasks.dll");

    /// <summary>The registry mirror the tests use: CI and this machine have no route to public registries.</summary>
    public static string Mirror => Environment.GetEnvironmentVariable("PROXYSTACK_TEST_MIRROR") ?? "localhost:5000";
}
