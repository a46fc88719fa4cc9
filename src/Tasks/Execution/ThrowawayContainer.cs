using ProxyStack.Engine;
using ProxyStack.Planning;

namespace ProxyStack.Execution;

/// <summary>
/// A one-off container, removed whatever happens: the proxy's nginx -t check and the nginx version probe run theirs to its
/// end (<see cref="RunAsync"/>); an image's user is read from one that never starts (<see cref="UseCreatedAsync"/>).
/// </summary>
internal static class ThrowawayContainer
{
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Runs the container to its end: the exit code (null: it did not end in time, or vanished) and its last log lines.</summary>
    public static Task<(long? ExitCode, string Logs)> RunAsync(IContainerEngine engine, ContainerSpec spec, TimeSpan timeout, CancellationToken ct) =>
        UseCreatedAsync(engine, spec, async () =>
        {
            await engine.StartContainerAsync(spec.Name, ct).ConfigureAwait(false);
            var deadline = DateTime.UtcNow + timeout;
            ContainerStatus? status;
            while ((status = await engine.InspectContainerAsync(spec.Name, spec.Network, ct).ConfigureAwait(false)) is { Running: true })
            {
                if (DateTime.UtcNow > deadline) return ((long?)null, "");
                await Task.Delay(50, ct).ConfigureAwait(false);
            }
            return (status?.ExitCode, await engine.GetLogsAsync(spec.Name, ReadinessWaiter.LogTail, ct).ConfigureAwait(false));
        }, ct);

    /// <summary>Creates the container, hands it to <paramref name="use"/>, and removes it afterwards, also when either fails.</summary>
    public static async Task<T> UseCreatedAsync<T>(IContainerEngine engine, ContainerSpec spec, Func<Task<T>> use, CancellationToken ct)
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
            return await use().ConfigureAwait(false);
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
