using ProxyStack.Engine;
using ProxyStack.Planning;

namespace ProxyStack.Execution;

/// <summary>
/// Runs a one-off container to its end and removes it, whatever happens: the proxy's nginx -t check and the nginx version
/// probe. RunAsync returns the exit code (null: it did not end in time, or vanished) and its last log lines.
/// </summary>
internal static class ThrowawayContainer
{
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(60);

    public static async Task<(long? ExitCode, string Logs)> RunAsync(IContainerEngine engine, ContainerSpec spec, TimeSpan timeout, CancellationToken ct)
    {
        await engine.CreateContainerAsync(spec, ct).ConfigureAwait(false);
        try
        {
            await engine.StartContainerAsync(spec.Name, ct).ConfigureAwait(false);
            var deadline = DateTime.UtcNow + timeout;
            ContainerStatus? status;
            while ((status = await engine.InspectContainerAsync(spec.Name, spec.Network, ct).ConfigureAwait(false)) is { Running: true })
            {
                if (DateTime.UtcNow > deadline) return (null, "");
                await Task.Delay(50, ct).ConfigureAwait(false);
            }
            return (status?.ExitCode, await engine.GetLogsAsync(spec.Name, ReadinessWaiter.LogTail, ct).ConfigureAwait(false));
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(CleanupTimeout);
            await engine.RemoveContainerAsync(spec.Name, cleanup.Token).ConfigureAwait(false);
        }
    }
}
