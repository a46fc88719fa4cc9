using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ProxyStack.Tests;

/// <summary>
/// A tiny HTTP server on loopback answering 200 (or the given status) to everything: stands in for replicas that are ready
/// (or up, answering something else).
/// </summary>
internal sealed class OkServer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private volatile string _status;
    private readonly Func<string, string?>? _byPath;

    /// <param name="status">What it answers.</param>
    /// <param name="port">Where it listens: a port picked by the system when 0.</param>
    /// <param name="byPath">What it answers a request for a path (null: <paramref name="status"/>), asked per request.</param>
    public OkServer(string status = "200 OK", int port = 0, Func<string, string?>? byPath = null)
    {
        _status = status;
        _byPath = byPath;
        _listener = new(IPAddress.Loopback, port);
        _listener.Start();
        _serving = ServeAsync(_stop.Token);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The path of every request so far, in order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Paths { get; } = new();

    /// <summary>What it answers from the next request on.</summary>
    public string Status { get => _status; set => _status = value; }

    private async Task ServeAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                using var client = await _listener.AcceptTcpClientAsync(ct);
                var stream = client.GetStream();
                var buffer = new byte[4096];
                var read = await stream.ReadAsync(buffer, ct);
                var path = Encoding.ASCII.GetString(buffer, 0, read).Split(' ') is [_, var target, ..] ? target : "";
                Paths.Enqueue(path);
                var status = _byPath?.Invoke(path) ?? _status;
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), ct);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException) { }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _serving.GetAwaiter().GetResult();
        _stop.Dispose();
    }
}
