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
/// stack; one made <paramref name="outsideTheLock"/> (StackStatus) says how long a StackUp beside it must leave it alone. A
/// random token in its config keeps it from being anyone's proxy while it lives.
/// </remarks>
internal sealed class ProbeRelay(IContainerEngine engine, IStackLog log, StackModel model, string image, bool outsideTheLock = false) : IAsyncDisposable
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
    public bool DirectRouteProven { get; private set; }

    /// <summary>A replica answered directly: the relay is not needed, and a background start of it stops (its container goes).</summary>
    public void ProveDirectRoute()
    {
        DirectRouteProven = true;
        lock (_cancelLock) _startCancel?.Cancel();
    }

    private readonly object _cancelLock = new();

    /// <summary>The relay's address on the host and its token, starting it when there is none.</summary>
    public async Task<(Uri Address, string Token)> GetAsync(CancellationToken ct) => (await GetOrStartAsync(wait: true, ct).ConfigureAwait(false))!.Value;

    /// <summary>
    /// The relay's address and token once it answers; null while it is starting (a call <see cref="BackgroundStartDelay"/>
    /// or more after the first starts it in the background). For a caller that asks again anyway — a readiness wait on this
    /// machine's own bridge, which keeps asking the replica directly meanwhile: measured, starting the relay cost 1.3 s of a
    /// 5 s bring-up of one replica (2.2 s at four), and on a Linux engine the replica usually answers directly before the
    /// relay would have, so nobody waits for it. A start that failed is thrown here, by the call that finds it so.
    /// </summary>
    public Task<(Uri Address, string Token)?> TryGetAsync(CancellationToken ct)
    {
        // Replicas are waited for side by side: the first of their calls sets the time, atomically.
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        var first = Interlocked.CompareExchange(ref _firstTry, now, 0) is var set && set == 0 ? now : set;
        return System.Diagnostics.Stopwatch.GetElapsedTime(first, now) < BackgroundStartDelay
            ? Task.FromResult<(Uri, string)?>(null)
            : GetOrStartAsync(wait: false, ct);
    }

    /// <summary>
    /// How long replicas on this machine's own bridge may be asked directly without an answer before the relay starts beside
    /// them: on a Linux engine a new replica usually listens within it, and then no relay container is made at all (its
    /// create, start and removal took the engine's time from the replicas' own starts; see docs/benchmarks.md). Behind a
    /// firewall between this machine and its bridge, readiness is this much later.
    /// </summary>
    public static readonly TimeSpan BackgroundStartDelay = TimeSpan.FromSeconds(2);

    /// <summary>When a readiness wait first found a replica not answering directly (a Stopwatch timestamp, 0 until then; one run's waits share it).</summary>
    private long _firstTry;

    private async Task<(Uri Address, string Token)?> GetOrStartAsync(bool wait, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            while (true)
            {
                if (_live is { } live) return (live.Address, live.Token);
                // The start outlives the call that began it (a background start is awaited by a later call): it stops when
                // the bring-up is cancelled (the first caller's token), when a replica proves the direct route, or at CloseAsync.
                if (_starting is null)
                {
                    lock (_cancelLock) _startCancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    _starting = StartAsync(_startCancel.Token);
                }
                if (!wait && !_starting.IsCompleted) return null;
                try
                {
                    var started = await _starting.ConfigureAwait(false);
                    _live = started;
                    return (started.Address, started.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // Stopped because a replica answered directly, not by this caller: not ready yet for a probe that asks
                    // again (it will ask directly); a caller that needs the relay starts it anew.
                    if (!wait) return null;
                }
                // Done, either way: a failed start is reported to this caller, and the next one tries again.
                finally { ForgetStart(); }
            }
        }
        finally { _gate.Release(); }
    }

    private Task<(string Name, Uri Address, string Token)>? _starting;
    private CancellationTokenSource? _startCancel;

    private void ForgetStart()
    {
        _starting = null;
        lock (_cancelLock)
        {
            _startCancel?.Dispose();
            _startCancel = null;
        }
    }

    private async Task<(string Name, Uri Address, string Token)> StartAsync(CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var spec = ContainerSpecs.ProbeRelay(model, image, token, outsideTheLock ? DateTimeOffset.UtcNow : null);
        try
        {
            // The create is not abandoned midway: an engine finishes a create whose request its client gave up on, and the
            // removal below would then run before the container exists and leave it behind. A start is stopped routinely (a
            // replica that answers directly), so the relay's create is waited for and the stop takes effect after it.
            await engine.CreateContainerAsync(spec, CancellationToken.None).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
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
            if (_starting is { } starting)
            {
                // A background start nobody waited for: stopped, and its container removed (StartAsync's own cleanup on
                // failure or cancellation; a start that had finished is removed below). Its outcome concerns nobody now.
                lock (_cancelLock) _startCancel?.Cancel();
                try { _live = await starting.ConfigureAwait(false); }
                catch (Exception e) when (e is OperationCanceledException or StackException or EngineRequestException or EngineUnavailableException) { }
                finally { ForgetStart(); }
            }
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
