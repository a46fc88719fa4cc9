using System.Net;
using ProxyStack.Engine;
using ProxyStack.Model;

namespace ProxyStack.Execution;

/// <summary>
/// Waits until a container answers HTTP. Replicas are probed on their address on the stack network (no host port is published
/// for them); the proxy is probed on its published host address. A container that exits or restarts while being waited on
/// fails at once with its exit code and last log lines, instead of waiting for the timeout.
/// </summary>
internal sealed class ReadinessWaiter(IContainerEngine engine, IStackLog log)
{
    public const int LogTail = 30;
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);
    private static readonly HttpClient Http = ProbeClient(acceptAnyCertificate: false);
    /// <summary>
    /// For the proxy's own HTTPS address only: the probe asks whether nginx answers through the stack, not whether this
    /// machine trusts the certificate (the development certificate often is not trusted on Linux).
    /// </summary>
    private static readonly HttpClient HttpsProbe = ProbeClient(acceptAnyCertificate: true);

    private static HttpClient ProbeClient(bool acceptAnyCertificate)
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero };
        if (acceptAnyCertificate) handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
    }

    /// <summary>
    /// Waits for a replica: GET http://&lt;address&gt;:&lt;port&gt;&lt;path&gt;, where the address is the container's on
    /// <paramref name="network"/>, or <paramref name="fixedAddress"/> when given (host mode: 127.0.0.1).
    /// </summary>
    public Task WaitForReplicaAsync(string name, string network, string? fixedAddress, int port, HealthProbe health, TimeSpan timeout, CancellationToken ct) =>
        WaitAsync(name, network, ip => (fixedAddress ?? ip) is { } a ? new Uri($"http://{(a.Contains(':') ? $"[{a}]" : a)}:{port}{health.Path}") : null, health,
            stopOnSteadyNotFound: true, timeout, ct);

    /// <summary>One probe of a replica, no waiting: null when it answered with a success status, else what happened.</summary>
    public async Task<string?> ProbeReplicaOnceAsync(string name, string network, string? fixedAddress, int port, HealthProbe health, CancellationToken ct)
    {
        var status = await engine.InspectContainerAsync(name, network, ct).ConfigureAwait(false);
        if (status is not { Running: true }) return "not running";
        if ((fixedAddress ?? status.IpAddress) is not { } address) return "no address on " + network;
        var uri = new Uri($"http://{(address.Contains(':') ? $"[{address}]" : address)}:{port}{health.Path}");
        var (ok, result, _) = await ProbeAsync(uri, health, ct).ConfigureAwait(false);
        return ok ? null : $"GET {health.Path} → {result}";
    }

    /// <summary>One GET of <paramref name="uri"/>: whether it passes <paramref name="health"/>, what it answered, and its status (0: none).</summary>
    public static async Task<(bool Ok, string Result, int Status)> ProbeAsync(Uri uri, HealthProbe health, CancellationToken ct)
    {
        try
        {
            // An HTTP/2-only app (gRPC) is asked over HTTP/2 with prior knowledge: it refuses HTTP/1.1.
            using var request = new HttpRequestMessage(HttpMethod.Get, uri)
            {
                Version = health.Http2 ? HttpVersion.Version20 : HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            using var response = await (uri.Scheme == Uri.UriSchemeHttps ? HttpsProbe : Http).SendAsync(request, ct).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            return (health.Passes(code), $"HTTP {code} {response.StatusCode}", code);
        }
        catch (HttpRequestException e) { return (false, e.HttpRequestError == HttpRequestError.Unknown ? e.Message : e.HttpRequestError.ToString(), 0); }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested) { return (false, "no answer within 2 s", 0); }
    }

    /// <summary>Waits for the proxy: GET &lt;url&gt;&lt;path&gt; on the host.</summary>
    public Task WaitForProxyAsync(string name, string network, string url, HealthProbe health, TimeSpan timeout, CancellationToken ct) =>
        WaitAsync(name, network, _ => new Uri(url + health.Path), health, stopOnSteadyNotFound: false, timeout, ct);

    /// <summary>
    /// How long a strict probe of a replica may be answered "not found" before waiting stops: the app is up and serves nothing
    /// at the path, which more waiting will not change (STACK4017, long before StackReadyTimeout). Replicas only: by the time
    /// the proxy is probed they passed the same path, so nginx's answers are its own business (STACK4010).
    /// </summary>
    public static readonly TimeSpan SteadyNotFoundTime = TimeSpan.FromSeconds(10);

    private async Task WaitAsync(string name, string network, Func<string?, Uri?> target, HealthProbe health, bool stopOnSteadyNotFound,
        TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "not probed yet";
        Uri? uri = null;
        DateTime? notFoundSince = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var status = await engine.InspectContainerAsync(name, network, ct).ConfigureAwait(false)
                ?? throw new ContainerExitedException(name, -1, "(the container no longer exists)");
            if (!status.Running || status.RestartCount > 0)
                throw new ContainerExitedException(name, status.ExitCode, await engine.GetLogsAsync(name, LogTail, ct).ConfigureAwait(false));
            uri = target(status.IpAddress);
            if (uri is not null)
            {
                var (ok, result, code) = await ProbeAsync(uri, health, ct).ConfigureAwait(false);
                if (ok)
                {
                    log.Detail($"{name} ready: GET {uri} -> {result}");
                    return;
                }
                last = result;
                notFoundSince = stopOnSteadyNotFound && code is 404 or 405 or 410 ? notFoundSince ?? DateTime.UtcNow : null;
                if (notFoundSince is { } since && DateTime.UtcNow - since >= SteadyNotFoundTime)
                    throw new HealthPathNotServedException(name, health.Path, result, (int)SteadyNotFoundTime.TotalSeconds);
            }
            else last = "no address on " + network;
            if (DateTime.UtcNow >= deadline)
                throw new ReadinessTimeoutException(name, uri?.ToString() ?? "(no address)", (int)timeout.TotalSeconds, last,
                    await engine.GetLogsAsync(name, LogTail, ct).ConfigureAwait(false));
            await Task.Delay(Interval, ct).ConfigureAwait(false);
        }
    }
}
