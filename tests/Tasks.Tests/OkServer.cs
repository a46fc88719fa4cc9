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

    /// <param name="status">What it answers.</param>
    /// <param name="port">Where it listens: a port picked by the system when 0.</param>
    public OkServer(string status = "200 OK", int port = 0)
    {
        _status = status;
        _listener = new(IPAddress.Loopback, port);
        _listener.Start();
        _serving = ServeAsync(_stop.Token);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

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
                _ = await stream.ReadAsync(buffer, ct);
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {_status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), ct);
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
