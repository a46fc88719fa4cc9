using System.Net;
using System.Net.Sockets;
using ProxyStack.Engine;
using ProxyStack.Model;
using ProxyStack.Planning;

namespace ProxyStack.Execution;

/// <summary>
/// Makes, beside the app's build, the read-only requests the bring-up's observation makes a moment later: the stack's
/// listing, its volumes, the engine's kind, one replica's image and inspection, and one probe over the probe client (to a
/// listener of its own on loopback, so no app sees it). In a fresh MSBuild process the first request of each kind costs
/// 20–50 ms more than the next (types loaded and initialised, code ReadyToRun left to the JIT, the HTTP stack's first
/// connection) — measured on a no-op `StackUp` at 3 replicas: the app image check 46 → 5 ms and `ApplyStack` 196 → 115 ms
/// once these had run. `ProbeStackEngine` starts it before MSBuild walks the app's build, which keeps one core busy for a
/// second or more; the bring-up then finds that work done. Once per process; it changes nothing, logs nothing, and any
/// failure is the observation's to report.
/// </summary>
internal static class EngineWarmup
{
    private static int _started;
    private static long _tookMs = -1;

    /// <summary>How long the warm-up took, once it has ended; null before (or when none ran in this process).</summary>
    public static long? TookMs => Interlocked.Read(ref _tookMs) is >= 0 and var ms ? ms : null;

    /// <summary>Starts the warm-up for <paramref name="model"/>'s stack on an engine of its own, unless one already ran in this process.</summary>
    public static void Start(Func<IContainerEngine> engine, StackModel model)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1) return;
        _ = Task.Run(async () => Interlocked.Exchange(ref _tookMs, await RunGuardedAsync(engine, model).ConfigureAwait(false)));
    }

    /// <summary>The warm-up, bounded to 10 s, with every failure swallowed (the bring-up meets it again and reports it): its duration in ms.</summary>
    internal static async Task<long> RunGuardedAsync(Func<IContainerEngine> engine, StackModel model)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            var e = engine();
            try { await RunAsync(e, model, cts.Token).ConfigureAwait(false); }
            finally { (e as IDisposable)?.Dispose(); }
        }
        catch (Exception) { }
        return clock.ElapsedMilliseconds;
    }

    /// <summary>The requests; whether the probe over the probe client passed (its listener answers 200).</summary>
    internal static async Task<bool> RunAsync(IContainerEngine engine, StackModel model, CancellationToken ct)
    {
        var network = StackNetworking.ContainerNetwork(model);
        var probe = ProbeOwnListenerAsync(ct);
        var volumes = engine.ListStackVolumesAsync(model.Name, [.. model.KeysVolumeNames], ct);
        var dns = engine.DnsAsync(ct);
        var (containers, _) = await engine.ListStackResourcesAsync(model.Name, [model.NetworkName], ct).ConfigureAwait(false);
        if (containers.FirstOrDefault(c => c.BelongsTo(model.Name) && c.Running && c.Role == StackLabels.RoleApp) is { } replica)
        {
            var id = replica.Image is { Length: > 0 } listed ? listed : replica.Label(StackLabels.ImageId);
            var image = id is { Length: > 0 } ? engine.InspectImageAsync(id, ct) : Task.FromResult<(string, IReadOnlyDictionary<string, string>, string)?>(null);
            await engine.InspectContainerAsync(replica.Name, network, ct).ConfigureAwait(false);
            await image.ConfigureAwait(false);
        }
        await Task.WhenAll(volumes, dns).ConfigureAwait(false);
        return await probe.ConfigureAwait(false);
    }

    /// <summary>One probe over <see cref="ReadinessWaiter.ProbeAsync"/>'s client, answered by a listener of this process.</summary>
    private static async Task<bool> ProbeOwnListenerAsync(CancellationToken ct)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var answer = Task.Run(async () =>
            {
                using var client = await listener.AcceptTcpClientAsync(ct).ConfigureAwait(false);
                var stream = client.GetStream();
                var buffer = new byte[4096];
                var read = 0;
                // Until the request's header ends (a GET has no body).
                while (read < buffer.Length && await stream.ReadAsync(buffer.AsMemory(read), ct).ConfigureAwait(false) is > 0 and var n)
                {
                    read += n;
                    if (System.Text.Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal)) break;
                }
                await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), ct).ConfigureAwait(false);
            }, ct);
            var (ok, _, _) = await ReadinessWaiter.ProbeAsync(new Uri($"http://127.0.0.1:{port}/"), new HealthProbe("/", Strict: true), "", ct).ConfigureAwait(false);
            await answer.ConfigureAwait(false);
            return ok;
        }
        finally
        {
            listener.Stop();
        }
    }
}
