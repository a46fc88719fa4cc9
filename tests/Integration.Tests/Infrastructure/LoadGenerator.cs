using System.Collections.Concurrent;
using System.Diagnostics;

namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>
/// A bounded HTTP load against one loopback URL: a few workers send GETs back to back until stopped or until the hard limit
/// of time and requests is reached, whichever comes first. It never sends anywhere but the URL it is given.
/// </summary>
public sealed class LoadGenerator : IAsyncDisposable
{
    public static readonly TimeSpan HardTimeLimit = TimeSpan.FromMinutes(4);
    public const long HardRequestLimit = 2_000_000;

    private readonly Uri _url;
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _http;
    private readonly Task[] _workers;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _requests, _errors, _non2xx;
    private TimeSpan _elapsed;

    public ConcurrentDictionary<string, long> Bodies { get; } = new();
    public ConcurrentQueue<string> Failures { get; } = new();

    public LoadGenerator(string url, int workers = 8)
    {
        _url = new Uri(url);
        if (!_url.IsLoopback) throw new ArgumentException("Load is only ever sent to loopback.", nameof(url));
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = workers }) { Timeout = TimeSpan.FromSeconds(10) };
        _stop.CancelAfter(HardTimeLimit);
        _workers = Enumerable.Range(0, workers).Select(_ => Task.Run(WorkAsync)).ToArray();
    }

    public long Requests => Interlocked.Read(ref _requests);
    public long Errors => Interlocked.Read(ref _errors);
    public long Non2xx => Interlocked.Read(ref _non2xx);
    public double RequestsPerSecond => Requests / Math.Max(0.001, (_elapsed == default ? _clock.Elapsed : _elapsed).TotalSeconds);

    private async Task WorkAsync()
    {
        while (!_stop.IsCancellationRequested && Interlocked.Read(ref _requests) < HardRequestLimit)
        {
            try
            {
                using var response = await _http.GetAsync(_url, _stop.Token);
                var body = await response.Content.ReadAsStringAsync(_stop.Token);
                Interlocked.Increment(ref _requests);
                if ((int)response.StatusCode is < 200 or > 299)
                {
                    Interlocked.Increment(ref _non2xx);
                    Failures.Enqueue($"{_clock.Elapsed.TotalSeconds:0.00}s HTTP {(int)response.StatusCode}: {body.Trim()}");
                }
                else Bodies.AddOrUpdate(body.Trim(), 1, (_, n) => n + 1);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
            // A SocketException too: it is a failed request, not the end of the worker. Uncaught, it ended the worker and
            // StopAsync rethrew it — the likely cause of a CI failure ("Transport endpoint is not connected", unwrapped)
            // in the test that removes a published port while this load is on it.
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or System.Net.Sockets.SocketException)
            {
                Interlocked.Increment(ref _requests);
                Interlocked.Increment(ref _errors);
                Failures.Enqueue($"{_clock.Elapsed.TotalSeconds:0.00}s {e.GetType().Name}: {e.Message}");
            }
        }
    }

    public async Task StopAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_workers);
        _elapsed = _clock.Elapsed;
    }

    public string Report() =>
        $"{Requests} requests in {(_elapsed == default ? _clock.Elapsed : _elapsed).TotalSeconds:0.0} s ({RequestsPerSecond:0}/s), {Errors} errors, {Non2xx} non-2xx; " +
        $"bodies: {string.Join(", ", Bodies.Select(b => $"'{b.Key}'×{b.Value}"))}\n{string.Join("\n", Failures.Take(20))}";

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await StopAsync();
        _http.Dispose();
        _stop.Dispose();
    }
}
