using ProxyStack.Engine;
using Xunit;

namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>
/// A test that needs a real engine. The engine is probed once per process. Outside CI a missing engine skips the test with the
/// reason; under CI (CI=true) it fails, because CI provisions an engine and a missing one is a broken run.
/// </summary>
public sealed class DockerFactAttribute : FactAttribute
{
    public DockerFactAttribute()
    {
        Skip = DockerEngineCheck.SkipReason();
        Timeout = 0;
    }
}

/// <summary>A theory that needs a real engine, skipped or failed like <see cref="DockerFactAttribute"/>.</summary>
public sealed class DockerTheoryAttribute : TheoryAttribute
{
    public DockerTheoryAttribute()
    {
        Skip = DockerEngineCheck.SkipReason();
        Timeout = 0;
    }
}

internal static class DockerEngineCheck
{
    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        using var engine = new DockerEngine();
        try
        {
            engine.PingAsync(CancellationToken.None).GetAwaiter().GetResult();
            return null;
        }
        catch (EngineUnavailableException e)
        {
            return $"No Docker engine: {e.Message}. Run build/provision.sh.";
        }
    });

    /// <summary>Why the test is skipped, or null: never under CI=true, where the test then fails on the missing engine.</summary>
    public static string? SkipReason() =>
        Unavailable.Value is { } reason && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase) ? reason : null;
}
