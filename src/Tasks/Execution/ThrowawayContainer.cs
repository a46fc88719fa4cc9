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
        try
        {
            await engine.CreateContainerAsync(spec, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Cancelled once the engine had answered (see DockerEngine's creates): it may have made the container, which
            // nothing else would remove until the stack goes. Removed only if what holds the name is this stack's.
            using var cleanup = new CancellationTokenSource(CleanupTimeout);
            var stack = spec.Labels.GetValueOrDefault(StackLabels.Stack, "");
            var (containers, _) = await engine.ListStackResourcesAsync(stack, [spec.Name], cleanup.Token).ConfigureAwait(false);
            if (containers.Any(c => c.Name == spec.Name && c.BelongsTo(stack))) await RemoveAsync(engine, spec).ConfigureAwait(false);
            throw;
        }
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
            await RemoveAsync(engine, spec).ConfigureAwait(false);
        }
    }

    private static async Task RemoveAsync(IContainerEngine engine, ContainerSpec spec)
    {
        using var cleanup = new CancellationTokenSource(CleanupTimeout);
        await engine.RemoveContainerAsync(spec.Name, cleanup.Token).ConfigureAwait(false);
    }
}
