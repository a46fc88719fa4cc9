using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ProxyStack.Diagnostics;
using ProxyStack.Model;
using ProxyStack.Resources;

namespace ProxyStack.Execution;

/// <summary>
/// Whether nginx reaches the app on this host (StackAppOnHost), asked before the app starts: ProxyStack listens for a moment
/// where the app will (its port, on every address it will bind), sends one request through the stack's proxy and sees
/// whether it arrives. A firewall that drops what containers send this machine, or a rootless engine that keeps them from
/// its loopback, would otherwise show only as a 502 for every request once the app runs.
/// </summary>
internal static class AppOnHostReach
{
    /// <summary>How long the request through the proxy may take to arrive: nginx gives up connecting after 2 s.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(4);

    /// <summary>The answer the app's stand-in gives: no body, and the connection closed so nginx keeps none of it.</summary>
    private static readonly byte[] Answer = Encoding.ASCII.GetBytes("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");

    /// <summary>
    /// True when a request sent through the proxy at <paramref name="model"/>'s address reached one of
    /// <paramref name="addresses"/> at the app's port; false when none did; null when the port is taken there (the app's own
    /// start says so, in its words).
    /// </summary>
    public static async Task<bool?> CheckAsync(StackModel model, IReadOnlyList<string> addresses, CancellationToken ct)
    {
        var listeners = new List<TcpListener>();
        try
        {
            foreach (var address in addresses)
            {
                var listener = new TcpListener(IPAddress.Parse(address), model.AppOnHostPort);
                listener.Start();
                listeners.Add(listener);
            }
        }
        catch (SocketException)
        {
            foreach (var listener in listeners) listener.Stop();
            return null;
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(Timeout);
        try
        {
            var answered = listeners.Select(l => AnswerOneAsync(l, cts.Token)).ToList();
            var sent = SendAsync(model, cts.Token);
            await Task.WhenAny(Task.WhenAny(answered), sent).ConfigureAwait(false);
            // nginx's answer comes after the request arrived: a moment more covers the stand-in being seen late.
            if (!answered.Any(a => a.IsCompletedSuccessfully))
                await Task.WhenAny(Task.WhenAny(answered), Task.Delay(200, ct)).ConfigureAwait(false);
            return answered.Any(a => a.IsCompletedSuccessfully);
        }
        finally
        {
            await cts.CancelAsync().ConfigureAwait(false);
            foreach (var listener in listeners) listener.Stop();
        }
    }

    /// <summary>STACK4025: what did not arrive where, and the likely cause — the rootless engine's network, or a firewall.</summary>
    public static Diagnostic Unreachable(StackModel model, IReadOnlyList<string> addresses)
    {
        var port = model.AppOnHostPort.ToString(CultureInfo.InvariantCulture);
        return Diagnostic.Error(nameof(Strings.AppOnHostUnreachable), model.Name, $"{StackNetworking.AppOnHostName}:{port}", StackNetworking.HostGateway(model),
            string.Join(", ", addresses.Select(a => $"{a}:{port}")),
            model.EngineRootless ? Strings.AppOnHostUnreachableRootless : string.Format(CultureInfo.InvariantCulture, Strings.AppOnHostUnreachableFirewall, port));
    }

    /// <summary>One request through the stack's proxy, as its readiness probe makes them (out of nginx's access log).</summary>
    private static async Task SendAsync(StackModel model, CancellationToken ct)
    {
        var health = model.ProxyHealth;
        try { await ReadinessWaiter.ProbeAsync(new Uri(model.ServedUrl + health.Path), health, model.ProbeToken, ct).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }

    /// <summary>Accepts one connection, reads what came (the request's start), answers 204 and closes.</summary>
    private static async Task AnswerOneAsync(TcpListener listener, CancellationToken ct)
    {
        using var client = await listener.AcceptTcpClientAsync(ct).ConfigureAwait(false);
        try
        {
            var stream = client.GetStream();
            var buffer = new byte[4096];
            using var read = CancellationTokenSource.CreateLinkedTokenSource(ct);
            read.CancelAfter(TimeSpan.FromSeconds(1));
            _ = await stream.ReadAsync(buffer, read.Token).ConfigureAwait(false);
            await stream.WriteAsync(Answer, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            // It arrived; how the stand-in's answer fared does not matter.
        }
    }
}
