using System.Net;
using System.Net.Sockets;
using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Model;
using ProxyStack.Planning;

namespace ProxyStack.Execution;

/// <summary>
/// Whether the engine's host network is this machine's, asked of the engine rather than guessed from its name: a throwaway nginx
/// (the proxy's base image, unprivileged, hardened like the proxy) on the host network listens on 127.0.0.1 at a port free
/// here, and this machine connects to it. On Linux it is the same loopback and the connection succeeds in a second; where
/// the engine runs in a VM (Docker Desktop without its host-networking option, Colima, a Podman machine) or on another host,
/// nothing listens here and host mode is refused with STACK3003 before anything of the stack changes.
/// </summary>
internal static class HostNetworkCheck
{
    /// <summary>How long the check waits for the listener to be reachable.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(30);
    private const string ConfigPath = "/tmp/proxystack-hostnet.conf";

    /// <summary>Runs the check; returns when this machine reached the listener, else throws STACK3003.</summary>
    /// <param name="engine">The engine the stack runs on.</param>
    /// <param name="log">Where the check's timing goes (detailed verbosity).</param>
    /// <param name="model">The stack: the check's container carries its proxy labels.</param>
    /// <param name="image">nginx's base image. Example: nginx:stable</param>
    /// <param name="ct">Cancels the check (its container is still removed).</param>
    /// <param name="connect">Tries one connection to 127.0.0.1:port on this machine (tests replace it).</param>
    /// <param name="timeout">How long to wait for the listener (tests shorten it); <see cref="Timeout"/> by default.</param>
    public static async Task RunAsync(IContainerEngine engine, IStackLog log, StackModel model, string image, CancellationToken ct,
        Func<int, CancellationToken, Task<bool>>? connect = null, TimeSpan? timeout = null)
    {
        connect ??= ConnectAsync;
        var wait = timeout ?? Timeout;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var port = FreeLoopbackPort();
        var spec = ContainerSpecs.HostNetworkCheck(model, image, ConfigPath, Config(port));
        string? failure = null;
        try
        {
            await engine.CreateContainerAsync(spec, ct).ConfigureAwait(false);
            await engine.StartContainerAsync(spec.Name, ct).ConfigureAwait(false);
            var deadline = DateTime.UtcNow + wait;
            while (true)
            {
                if (await connect(port, ct).ConfigureAwait(false))
                {
                    log.Detail($"host network check: 127.0.0.1:{port} reached ({clock.ElapsedMilliseconds} ms)");
                    return;
                }
                var status = await engine.InspectContainerAsync(spec.Name, spec.Network, ct).ConfigureAwait(false);
                if (status is not { Running: true })
                {
                    failure = $"the listener exited with code {status?.ExitCode}:\n{PlanExecutor.Indent(await engine.GetLogsAsync(spec.Name, ReadinessWaiter.LogTail, ct).ConfigureAwait(false))}";
                    break;
                }
                if (DateTime.UtcNow > deadline)
                {
                    failure = $"nothing answered here within {wait.TotalSeconds:0.#} s";
                    break;
                }
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
        }
        catch (EngineRequestException e) { failure = "the engine refused the container: " + e.Message; }
        finally
        {
            using var cleanup = new CancellationTokenSource(CleanupTimeout);
            try { await engine.RemoveContainerAsync(spec.Name, cleanup.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is EngineRequestException or OperationCanceledException) { log.Detail($"host network check: could not remove {spec.Name}: {e.Message}"); }
        }
        throw new StackException(Diagnostic.Error(nameof(Strings.HostNetworkUnsupported), port.ToString(System.Globalization.CultureInfo.InvariantCulture), failure));
    }

    /// <summary>nginx listening on this machine's loopback at <paramref name="port"/>.</summary>
    internal static string Config(int port) => Proxy.ThrowawayNginxConfig.Write("ProxyStack's host network check: lives for a second, then is removed.", "hostnet", 16,
        $"    server {{ listen 127.0.0.1:{port}; return 204; }}\n");

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<bool> ConnectAsync(int port, CancellationToken ct)
    {
        using var client = new TcpClient();
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(TimeSpan.FromSeconds(1));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, attempt.Token).ConfigureAwait(false);
            return true;
        }
        catch (SocketException) { return false; }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return false; }
    }
}
