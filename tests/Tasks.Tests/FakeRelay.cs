using System.Net;
using ProxyStack.Proxy;

namespace ProxyStack.Tests;

/// <summary>
/// What the probe relay does, in process, for the fake engine: checks the token, answers its ready path with 204, and
/// forwards everything else to the replica its target header names (on loopback in these tests), marking a refused
/// connection as the real relay's config does. Lets the unit tests drive readiness through the same code path as the engine.
/// </summary>
internal sealed class FakeRelay : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly string _token;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private static readonly HttpClient Client = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(2) };

    public FakeRelay(string token, List<string> forwarded)
    {
        _token = token;
        Forwarded = forwarded;
        Port = ProxyStack.IntegrationTests.Infrastructure.Ports.Free();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serving = ServeAsync();
    }

    public int Port { get; }
    /// <summary>Requests forwarded to a replica: "target path" (shared by the engine's relays).</summary>
    public List<string> Forwarded { get; }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        try
        {
            if (request.Headers[ProbeRelayConfig.TokenHeader] != _token) response.StatusCode = 403;
            else if (request.Url!.AbsolutePath == ProbeRelayConfig.ReadyPath) response.StatusCode = 204;
            else
            {
                var target = request.Headers[ProbeRelayConfig.TargetHeader];
                lock (Forwarded) Forwarded.Add($"{target} {request.Url.PathAndQuery}");
                try
                {
                    using var answer = await Client.GetAsync($"http://{target}{request.Url.PathAndQuery}");
                    response.StatusCode = (int)answer.StatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    response.StatusCode = 502;
                    response.Headers[ProbeRelayConfig.UnreachableHeader] = e is TaskCanceledException ? "504" : "502";
                }
            }
        }
        finally { response.Close(); }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        try { _serving.GetAwaiter().GetResult(); } catch (ObjectDisposedException) { }
        _stop.Dispose();
    }
}
