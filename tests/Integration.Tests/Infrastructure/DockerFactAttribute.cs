using ProxyStack.Engine;
using Xunit;

namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>
/// A test that needs a real engine. The engine is probed once per process. Outside CI a missing engine skips the test with the
/// reason; under CI (CI=true) it fails, because CI provisions an engine and a missing one is a broken run.
/// </summary>
public sealed class DockerFactAttribute : FactAttribute
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

    public DockerFactAttribute()
    {
        if (Unavailable.Value is { } reason && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Skip = reason;
        Timeout = 0;
    }
}
