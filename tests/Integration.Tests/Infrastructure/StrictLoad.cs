using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>
/// Load from clients that never retry, so every dropped request counts: wrk for GETs (it counts a request written on a
/// connection the server closed as a read error), and a stream of slow POSTs over raw sockets, one connection per request.
/// Both only ever go to the loopback URL they are given.
/// </summary>
internal sealed partial class StrictLoad : IAsyncDisposable
{
    private readonly Process _wrk;
    private readonly StringBuilder _wrkOutput = new();
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(6));
    private readonly Task[] _posters;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _posts;
    private string? _wrkReport;
    private readonly string? _script;
    /// <summary>wrk's connections, each paced on its own.</summary>
    public const int Connections = 16;

    /// <summary>Slow POST failures: anything but a 200 with the body's length, with when and what.</summary>
    public List<string> PostFailures { get; } = [];
    public long Posts => Interlocked.Read(ref _posts);
    private readonly List<string> _marks = [];

    /// <summary>Notes that a phase of the change under load begins now (its time goes into the report).</summary>
    public void Mark(string phase) { lock (_marks) _marks.Add($"{phase} {_clock.Elapsed.TotalSeconds:0.0}s"); }

    /// <summary>
    /// The pace of the tests beside ZeroDowntimeTests (another engine, topology or entry point): enough to catch a dropped
    /// request during any change (an error window of 10 ms still meets several requests), little enough to leave the change its
    /// CPU. SwarmTests aims higher: it must show at least 200 req/s through its rolling update, with a margin.
    /// </summary>
    public const int BesideAChange = 400, BesideASwarmUpdate = 600;

    /// <param name="baseUrl">http://127.0.0.1:port (loopback only)</param>
    /// <param name="slowPosters">Parallel POST /slow loops; each request takes about a second in the app.</param>
    /// <param name="pacedRate">
    /// Requests per second wrk aims at (each of its connections waits 16 000 / rate ms between requests; slower answers make
    /// it less), or null for as fast as the machine allows. On 2 cores an unpaced wrk takes the CPU the change under test
    /// needs (a build, replicas starting): the proof of the zero-failure claim at full rate is ZeroDowntimeTests', the other
    /// engines' and topologies' tests pace their load so their changes are not slowed for nothing.
    /// </param>
    public StrictLoad(string baseUrl, int slowPosters = 4, int? pacedRate = null)
    {
        var uri = new Uri(baseUrl);
        if (!uri.IsLoopback) throw new ArgumentException("Load is only ever sent to loopback.", nameof(baseUrl));
        var psi = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-t2", $"-c{Connections}", "-d300s", baseUrl.TrimEnd('/') + "/" }) psi.ArgumentList.Add(a);
        if (pacedRate is { } rate)
        {
            _script = Path.Combine(Path.GetTempPath(), $"proxystack-paced-{Guid.NewGuid():N}.lua");
            File.WriteAllText(_script, $"function delay() return {Connections * 1000 / rate} end\n");
            psi.ArgumentList.Add("-s");
            psi.ArgumentList.Add(_script);
        }
        _wrk = Process.Start(psi)!;
        _wrk.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_wrkOutput) _wrkOutput.AppendLine(e.Data); };
        _wrk.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_wrkOutput) _wrkOutput.AppendLine(e.Data); };
        _wrk.BeginOutputReadLine();
        _wrk.BeginErrorReadLine();
        _posters = Enumerable.Range(0, slowPosters).Select(i => Task.Run(() => PostLoopAsync(uri, i))).ToArray();
    }

    private async Task PostLoopAsync(Uri uri, int worker)
    {
        var n = 0;
        while (!_stop.IsCancellationRequested)
        {
            var body = $"worker {worker} request {n++}";
            string result;
            try { result = await PostOnceAsync(uri, body, _stop.Token); }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested) { break; }
            catch (Exception e) when (e is IOException or SocketException) { result = e.GetType().Name + ": " + e.Message; }
            Interlocked.Increment(ref _posts);
            if (result != $"200 {body.Length}") lock (PostFailures) PostFailures.Add($"{_clock.Elapsed.TotalSeconds:0.0}s {result}");
        }
    }

    /// <summary>One POST /slow on its own connection: "200 &lt;length&gt;" on success, else the status line or the error.</summary>
    private static async Task<string> PostOnceAsync(Uri uri, string body, CancellationToken ct)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port, ct);
        await using var stream = client.GetStream();
        var request = $"POST /slow HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Type: text/plain\r\nContent-Length: {Encoding.ASCII.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var response = await reader.ReadToEndAsync(timeout.Token);
        var status = response.Split("\r\n", 2)[0];
        if (!status.StartsWith("HTTP/1.1 200", StringComparison.Ordinal)) return status.Length == 0 ? "connection closed without a response" : status;
        // Chunked or not, the body's one line is the byte count the app read.
        var count = BodyCount().Match(response.Split("\r\n\r\n", 2).ElementAtOrDefault(1) ?? "");
        return count.Success ? $"200 {count.Groups[1].Value}" : "200 without a count: " + response;
    }

    [GeneratedRegex(@"(?m)^(\d+)\n")]
    private static partial Regex BodyCount();

    /// <summary>Stops wrk with SIGINT (it prints its counts then) and the POST loops; returns wrk's report.</summary>
    public async Task<WrkResult> StopAsync()
    {
        if (_wrkReport is null)
        {
            Cli.Signal(_wrk.Id, Cli.SIGINT);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try { await _wrk.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { _wrk.Kill(); }
            _wrk.WaitForExit();
            _stop.Cancel();
            await Task.WhenAll(_posters);
            lock (_wrkOutput) _wrkReport = _wrkOutput.ToString();
        }
        return WrkResult.Parse(_wrkReport);
    }

    /// <summary>
    /// What happened, shortest first (a CI log keeps only a failure message's first lines): the counts, the phases' start
    /// times, when the POSTs failed and how, the caller's context, then the first failures and wrk's own report.
    /// </summary>
    /// <param name="context">Lines to put after the counts and phases (what the proxy logged, say).</param>
    public string Report(IEnumerable<string>? context = null)
    {
        var wrk = _wrkReport is null ? null : WrkResult.Parse(_wrkReport);
        List<string> failures;
        lock (PostFailures) failures = [.. PostFailures];
        var span = failures.Count == 0 ? "" : $" between {failures[0].Split(' ')[0]} and {failures[^1].Split(' ')[0]}: "
            + string.Join(", ", failures.GroupBy(f => f[(f.IndexOf(' ') + 1)..]).Select(g => $"{g.Count()}× {g.Key}"));
        return $"GETs: {wrk?.Requests} in {wrk?.Seconds:0.0}s, non-2xx {wrk?.Non2xx}, socket errors {wrk?.SocketErrors}; "
            + $"slow POSTs: {Posts}, failed: {failures.Count}{span}\n"
            + $"phases: {string.Concat(_marks.Select(m => m + ", "))}end {_clock.Elapsed.TotalSeconds:0.0}s\n"
            + string.Concat((context ?? []).Select(l => l + "\n"))
            + string.Concat(failures.Take(10).Select(f => f + "\n")) + _wrkReport;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_script is not null) File.Delete(_script);
        _wrk.Dispose();
        _stop.Dispose();
    }
}

/// <summary>wrk's counts: requests, socket errors (connect, read, write, timeout) and non-2xx/3xx responses.</summary>
internal sealed partial record WrkResult(long Requests, double Seconds, long SocketErrors, long Non2xx)
{
    /// <summary>Of <see cref="SocketErrors"/>, those where the server closed the connection before wrk read an answer.</summary>
    public long ReadErrors { get; init; }

    public double RequestsPerSecond => Requests / Math.Max(0.001, Seconds);

    public static WrkResult Parse(string output)
    {
        var total = Total().Match(output);
        if (!total.Success) throw new InvalidOperationException("wrk printed no totals:\n" + output);
        var errors = Errors().Match(output);
        var non2xx = Non2xxLine().Match(output);
        var seconds = double.Parse(total.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) * total.Groups[3].Value switch
        {
            "us" => 1e-6, "ms" => 1e-3, "m" => 60, "h" => 3600, _ => 1,
        };
        return new WrkResult(long.Parse(total.Groups[1].Value), seconds,
            errors.Success ? Enumerable.Range(1, 4).Sum(i => long.Parse(errors.Groups[i].Value)) : 0,
            non2xx.Success ? long.Parse(non2xx.Groups[1].Value) : 0) { ReadErrors = errors.Success ? long.Parse(errors.Groups[2].Value) : 0 };
    }

    [GeneratedRegex(@"(\d+) requests in ([\d.]+)(us|ms|s|m|h)\b")]
    private static partial Regex Total();
    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex Errors();
    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xxLine();
}
