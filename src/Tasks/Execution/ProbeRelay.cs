using System.Net;
using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;

namespace ProxyStack.Execution;

/// <summary>
/// How the readiness probes reach replicas without a route from the host to container addresses: a throwaway nginx (the
/// proxy's base image, unprivileged, hardened like the proxy) on the stack's network, published on the engine host's loopback
/// at a port the engine picks. The probe asks it over that port and names the replica's address in a header; the relay
/// forwards the request there from inside the network. Ports published on loopback are what every engine forwards to the host
/// — Docker Desktop, Podman machines, Colima, OrbStack — while container addresses are reachable from a Linux host only.
/// </summary>
/// <remarks>
/// Started on first use (a stack whose replicas need no probe never gets one), closed before a rollback removes the network it
/// is attached to, and removed when the task ends. It carries the proxy's labels, so one left by a killed build goes with the
/// stack. A random token in its config keeps it from being anyone's proxy while it lives.
/// </remarks>
internal sealed class ProbeRelay(IContainerEngine engine, IStackLog log, StackModel model, string image) : IAsyncDisposable
{
    /// <summary>How long the relay may take to answer its own ready path after start.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (string Name, Uri Address, string Token)? _live;

    /// <summary>
    /// Set once a replica on the stack's network answered this machine directly (on the engine's own bridge): the route is
    /// proven, so a replica that does not answer directly is not listening yet, and the relay is not started for it. Shared
    /// by the observation and the bring-up of one run; measured on Podman under load, starting the relay cost 5–10 s there.
    /// </summary>
    public bool DirectRouteProven { get; set; }

    /// <summary>The relay's address on the host and its token, starting it when there is none.</summary>
    public async Task<(Uri Address, string Token)> GetAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_live is { } live) return (live.Address, live.Token);
            var started = await StartAsync(ct).ConfigureAwait(false);
            _live = started;
            return (started.Address, started.Token);
        }
        finally { _gate.Release(); }
    }

    private async Task<(string Name, Uri Address, string Token)> StartAsync(CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var spec = ContainerSpecs.ProbeRelay(model, image, token);
        try
        {
            await engine.CreateContainerAsync(spec, ct).ConfigureAwait(false);
            await engine.StartContainerAsync(spec.Name, ct).ConfigureAwait(false);
            var deadline = DateTime.UtcNow + StartTimeout;
            var last = "not started";
            while (true)
            {
                var status = await engine.InspectContainerAsync(spec.Name, spec.Network, ct).ConfigureAwait(false);
                if (status is not { Running: true })
                    throw new StackException(Diagnostic.Error(nameof(Strings.ProbeRelayFailed), spec.Name, image,
                        $"it exited with code {status?.ExitCode}", PlanExecutor.Indent(await engine.GetLogsAsync(spec.Name, ReadinessWaiter.LogTail, ct).ConfigureAwait(false))));
                if (status.PublishedPorts.TryGetValue(ProbeRelayConfig.ContainerPort, out var port))
                {
                    var address = new Uri($"http://{ProbeRelayConfig.LoopbackHost}:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, ProbeRelayConfig.ReadyPath));
                    request.Headers.Add(ProbeRelayConfig.TokenHeader, token);
                    try
                    {
                        using var response = await ReadinessWaiter.RelayClient.SendAsync(request, ct).ConfigureAwait(false);
                        if (response.StatusCode == HttpStatusCode.NoContent)
                        {
                            log.Detail($"probe relay {spec.Name} on {address} ({clock.ElapsedMilliseconds} ms)");
                            return (spec.Name, address, token);
                        }
                        last = $"HTTP {(int)response.StatusCode}";
                    }
                    catch (HttpRequestException e) { last = e.HttpRequestError.ToString(); }
                    catch (TaskCanceledException) when (!ct.IsCancellationRequested) { last = "no answer"; }
                }
                else last = "no published port yet";
                if (DateTime.UtcNow > deadline)
                    throw new StackException(Diagnostic.Error(nameof(Strings.ProbeRelayFailed), spec.Name, image,
                        $"it did not answer on the engine host's loopback within {(int)StartTimeout.TotalSeconds} s (last: {last})",
                        PlanExecutor.Indent(await engine.GetLogsAsync(spec.Name, ReadinessWaiter.LogTail, ct).ConfigureAwait(false))));
                await Task.Delay(50, ct).ConfigureAwait(false);
            }
        }
        catch
        {
            await RemoveAsync(spec.Name).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Removes the relay now (before a rollback takes its network away); the next probe starts a new one.</summary>
    public async Task CloseAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_live is { } live) await RemoveAsync(live.Name).ConfigureAwait(false);
            _live = null;
        }
        finally { _gate.Release(); }
    }

    private async Task RemoveAsync(string name)
    {
        using var cleanup = new CancellationTokenSource(CleanupTimeout);
        try { await engine.RemoveContainerAsync(name, cleanup.Token).ConfigureAwait(false); }
        catch (Exception e) when (e is EngineRequestException or EngineUnavailableException or OperationCanceledException)
        {
            log.Warn(Diagnostic.Warning(nameof(Strings.UndoFailed), "remove probe relay " + name, e.Message, model.Name));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        _gate.Dispose();
    }
}
