using System.Net;
using ProxyStack.Engine;
using ProxyStack.Model;
using ProxyStack.Proxy;

namespace ProxyStack.Execution;

/// <summary>
/// Waits until a container answers HTTP. Replicas are reached through the <see cref="ProbeRelay"/> on the stack network (no
/// host port is published for them, and the host may have no route to container addresses), or on loopback in host mode; the
/// proxy is probed on its published host address. A container that exits or restarts while being waited on fails at once
/// with its exit code and last log lines, instead of waiting for the timeout.
/// </summary>
internal sealed class ReadinessWaiter(IContainerEngine engine, IStackLog log, ProbeRelay? relay = null)
{
    public const int LogTail = 30;

    /// <summary>Whether an address is one of this machine's own (a Linux engine's bridges among them, read again for a bridge
    /// made since). Not one: the replica is asked through the relay.</summary>
    private static bool IsOwnAddress(string? address) => address is not null && MachineAddresses.Own.Contains(address);
    /// <summary>
    /// How long a replica's wait pauses before asking again, with <paramref name="awaited"/> replicas awaited at once: 50 ms
    /// per replica awaited, between 50 and 200 ms, so the waits together ask about 20 times a second and each at least every
    /// 200 ms. A replica awaited alone — one of one, or the last of many, the one StackUp returns after — is asked every 50
    /// ms; 16 starting at once on 2 cores are asked every 200 ms, where asking less often measured no gain. Measured at N = 1,
    /// 14 alternating pairs of bring-ups (docs/benchmarks.md): apply 912 ms (median) against 960 at a fixed 200 ms, the replica
    /// sooner in its slot and so, in 6 of 14 runs against 1, before nginx's first lookup, which spares the proxy's reload.
    /// </summary>
    internal static TimeSpan ReplicaInterval(int awaited) => TimeSpan.FromMilliseconds(Math.Clamp(50 * awaited, 50, 200));

    private int _replicasAwaited;

    /// <summary>How many replica waits of this waiter are under way.</summary>
    internal int ReplicasAwaited => Volatile.Read(ref _replicasAwaited);

    /// <summary>
    /// The proxy's wait asks every 50 ms: a connect to a port on this host, which nginx binds moments after its start returns.
    /// Measured at N = 1, ten alternating bring-ups: StackUp 0.13 s sooner (paired median) than at 200 ms.
    /// </summary>
    private static readonly TimeSpan ProxyInterval = TimeSpan.FromMilliseconds(50);
    private static readonly HttpClient Http = ProbeClient(acceptAnyCertificate: false, System.Threading.Timeout.InfiniteTimeSpan);
    /// <summary>
    /// For the proxy's own HTTPS address only: the probe asks whether nginx answers through the stack, not whether this
    /// machine trusts the certificate (the development certificate often is not trusted on Linux).
    /// </summary>
    private static readonly HttpClient HttpsProbe = ProbeClient(acceptAnyCertificate: true, System.Threading.Timeout.InfiniteTimeSpan);

    /// <summary>How long one probe waits for its answer (<see cref="ProbeAsync"/>).</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a probe that passes on any answer (the proxy in front of the app on the host) waits: a second longer than nginx
    /// waits to connect to the app (proxy_connect_timeout), so nginx's own 504 for an app it cannot reach — a firewall that
    /// drops what containers send this machine — is the answer, instead of no answer for as long as the bring-up waits.
    /// </summary>
    private static readonly TimeSpan AnyAnswerTimeout = TimeSpan.FromSeconds(Proxy.NginxConfigWriter.ConnectTimeoutSeconds + 1);
    /// <summary>To the probe relay: a second longer than the relay waits for the replica, so the relay's own answer arrives.</summary>
    public static readonly HttpClient RelayClient = ProbeClient(acceptAnyCertificate: false, TimeSpan.FromSeconds(ProbeRelayConfig.TimeoutSeconds + 1));

    private static HttpClient ProbeClient(bool acceptAnyCertificate, TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero };
        if (acceptAnyCertificate) handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        return new HttpClient(handler) { Timeout = timeout };
    }

    /// <summary>
    /// Waits for a replica: GET http://&lt;address&gt;:&lt;port&gt;&lt;path&gt;, where the address is the container's on
    /// <paramref name="network"/> (asked through the relay), or <paramref name="fixedAddress"/> when given (host mode: 127.0.0.1, asked directly).
    /// With <paramref name="app"/> the container is an ASP.NET Core app reached at its network address, whose own output says
    /// where it listens (<see cref="KestrelAddresses"/>): one that has started listening only where nginx cannot reach it
    /// fails at once (<see cref="AppListensElsewhereException"/>) instead of at the timeout.
    /// </summary>
    public async Task WaitForReplicaAsync(string name, string network, string? fixedAddress, int port, HealthProbe health, TimeSpan timeout, CancellationToken ct,
        bool app = false)
    {
        Interlocked.Increment(ref _replicasAwaited);
        try
        {
            if (health.HostStarted)
                await WaitAsync(name, network, _ => StartedProbe(name), health, stopOnSteadyNotFound: false, () => ReplicaInterval(ReplicasAwaited), timeout, ct).ConfigureAwait(false);
            else await WaitAsync(name, network, status => (fixedAddress ?? status.IpAddress) is { } a ? ReplicaProbe(a, port, health, direct: fixedAddress is not null, status.Gateway, waiting: true) : null, health,
                stopOnSteadyNotFound: true, () => ReplicaInterval(ReplicasAwaited), timeout, ct, appPort: app && fixedAddress is null ? port : null).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _replicasAwaited);
        }
    }

    /// <summary>One probe of a replica, no waiting: null when it answered with a success status, else what happened.</summary>
    public async Task<string?> ProbeReplicaOnceAsync(string name, string network, string? fixedAddress, int port, HealthProbe health, CancellationToken ct) =>
        (await ProbeReplicaOnceAtAsync(name, network, fixedAddress, port, health, ct).ConfigureAwait(false)).Failure;

    /// <summary>The same, with the replica's address on <paramref name="network"/> as the engine gave it (null when it has none).</summary>
    public async Task<(string? Failure, string? Address)> ProbeReplicaOnceAtAsync(string name, string network, string? fixedAddress, int port, HealthProbe health, CancellationToken ct)
    {
        var status = await engine.InspectContainerAsync(name, network, ct).ConfigureAwait(false);
        if (status is not { Running: true }) return ("not running", null);
        // A background service that runs was ready when it took its slot; nginx sends it nothing, so nothing is at stake in
        // taking it as ready still (its "Application started." may have scrolled out of any tail a check could read).
        if (health.HostStarted) return (null, status.IpAddress);
        if ((fixedAddress ?? status.IpAddress) is not { } address) return ("no address on " + network, null);
        var (ok, result, _) = await ReplicaProbe(address, port, health, direct: fixedAddress is not null, status.Gateway, waiting: false).Send(ct).ConfigureAwait(false);
        return (ok ? null : $"GET {health.Path} → {result}", status.IpAddress);
    }

    /// <summary>A probe of one replica: what it is called in messages, and how to send it.</summary>
    private sealed record Probe(string Target, Func<CancellationToken, Task<(bool Ok, string Result, int Status)>> Send);

    /// <summary>A background service's readiness: its output says its host has started (<see cref="HealthProbe.HostStarted"/>).</summary>
    private Probe StartedProbe(string name) => new("its output", async ct =>
        KestrelAddresses.Read(await engine.GetLogsAsync(name, ListenCheckTail, ct).ConfigureAwait(false)).Started
            ? (true, "\"Application started.\"", 0)
            : (false, "no \"Application started.\" in its output yet (the .NET host logs it at Information once every hosted service has started)", 0));

    /// <summary>
    /// How a replica is asked: directly in host mode; otherwise directly only where this machine is itself on the stack's
    /// bridge (the network's gateway is one of its own addresses: a Linux engine), falling back to the relay when the direct
    /// request gets no HTTP answer at all (a firewall between host and containers, or an app not yet listening) until some
    /// replica has answered directly (<see cref="ProbeRelay.DirectRouteProven"/>: then it is not listening yet); and through
    /// the relay alone where the engine is elsewhere (a VM: Docker Desktop, Podman machines, Colima), whose container
    /// addresses the host cannot reach — or could reach something else at, through a VPN's route. While
    /// <paramref name="waiting"/> (the caller asks again in a moment), a replica on the bridge that gives no answer yet is not
    /// ready, and the relay starts in the background meanwhile; a single probe (the observation's) waits for the relay.
    /// </summary>
    private Probe ReplicaProbe(string address, int port, HealthProbe health, bool direct, string? gateway, bool waiting)
    {
        var uri = new Uri($"http://{(address.Contains(':') ? $"[{address}]" : address)}:{port}{health.Path}");
        if (direct || relay is null) return new Probe(uri.ToString(), ct => ProbeAsync(uri, health, "", ct));
        var onBridge = IsOwnAddress(gateway);
        return new Probe(uri.ToString(), async ct =>
        {
            if (onBridge)
            {
                var answered = await ProbeAsync(uri, health, "", ct).ConfigureAwait(false);
                if (answered.Status > 0) relay.ProveDirectRoute();
                if (answered.Status > 0 || relay.DirectRouteProven) return answered;
                if (waiting)
                    return await relay.TryGetAsync(ct).ConfigureAwait(false) is { } started
                        ? await ProbeThroughRelayAsync(started.Address, started.Token, uri, health, ct).ConfigureAwait(false)
                        : answered;
            }
            var (relayAddress, token) = await relay.GetAsync(ct).ConfigureAwait(false);
            return await ProbeThroughRelayAsync(relayAddress, token, uri, health, ct).ConfigureAwait(false);
        });
    }

    /// <summary>
    /// GET <paramref name="target"/> from inside the stack's network: the relay forwards the request to the replica (over
    /// HTTP/2 with prior knowledge for an HTTP/2-only app) and returns its answer; a 502/504 the relay made itself means the
    /// replica refused the connection or did not answer.
    /// </summary>
    private static async Task<(bool Ok, string Result, int Status)> ProbeThroughRelayAsync(Uri relayAddress, string token, Uri target, HealthProbe health, CancellationToken ct)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(relayAddress, target.PathAndQuery));
            request.Headers.Add(ProbeRelayConfig.TokenHeader, token);
            request.Headers.Add(ProbeRelayConfig.TargetHeader, target.Authority);
            if (health.Http2) request.Headers.Add(ProbeRelayConfig.Http2Header, "1");
            using var response = await RelayClient.SendAsync(request, ct).ConfigureAwait(false);
            if (response.Headers.TryGetValues(ProbeRelayConfig.UnreachableHeader, out var upstream))
                return (false, (string.Join("", upstream).Contains("504", StringComparison.Ordinal)
                    ? $"no answer within {ProbeRelayConfig.TimeoutSeconds} s" : "ConnectionError") + " (through the probe relay)", 0);
            return Answer(response, health, " (through the probe relay)");
        }
        catch (HttpRequestException e) { return (false, "the probe relay did not answer: " + (e.HttpRequestError == HttpRequestError.Unknown ? e.Message : e.HttpRequestError.ToString()), 0); }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested) { return (false, "the probe relay did not answer in time", 0); }
    }

    /// <summary>An HTTP answer as a probe result: whether it passes, what it was (with <paramref name="route"/>), its status.</summary>
    private static (bool Ok, string Result, int Status) Answer(HttpResponseMessage response, HealthProbe health, string route)
    {
        var code = (int)response.StatusCode;
        return (health.Passes(code), $"HTTP {code} {response.StatusCode}{route}", code);
    }

    /// <summary>
    /// One GET of <paramref name="uri"/>: whether it passes <paramref name="health"/>, what it answered, and its status (0: none).
    /// <paramref name="probeToken"/>: the stack's <see cref="StackModel.ProbeToken"/> when the GET goes through its proxy, which then
    /// leaves it out of its access log (NginxConfigWriter.AccessLog); empty for anything else, which gets no header.
    /// </summary>
    public static async Task<(bool Ok, string Result, int Status)> ProbeAsync(Uri uri, HealthProbe health, string probeToken, CancellationToken ct)
    {
        try
        {
            // An HTTP/2-only app (gRPC) is asked over HTTP/2 with prior knowledge: it refuses HTTP/1.1.
            using var request = new HttpRequestMessage(HttpMethod.Get, uri)
            {
                Version = health.Http2 ? HttpVersion.Version20 : HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            if (probeToken.Length > 0) request.Headers.Add(NginxConfigWriter.ProbeHeader, probeToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(health.AnyAnswer ? AnyAnswerTimeout : ProbeTimeout);
            using var response = await (uri.Scheme == Uri.UriSchemeHttps ? HttpsProbe : Http).SendAsync(request, timeout.Token).ConfigureAwait(false);
            return Answer(response, health, "");
        }
        catch (HttpRequestException e) { return (false, e.HttpRequestError == HttpRequestError.Unknown ? e.Message : e.HttpRequestError.ToString(), 0); }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (false, $"no answer within {(health.AnyAnswer ? AnyAnswerTimeout : ProbeTimeout).TotalSeconds:0} s", 0);
        }
    }

    /// <summary>
    /// Waits for the proxy: GET &lt;url&gt;&lt;path&gt; on the host. <paramref name="onFirstAnswer"/>, if given, is called once
    /// when the proxy first answers at all (an nginx that is up, and may not have resolved every replica yet, even where the
    /// probed route already answers); the proxy is asked again right after it. <paramref name="routes"/>: paths under
    /// <paramref name="url"/> that must pass too, in the same round (each StackProject's route: nginx resolves every
    /// upstream on its own, so the front project's answer says nothing of the others'). <paramref name="passProvesResolved"/>:
    /// a first answer that passes needs no <paramref name="onFirstAnswer"/> (see <see cref="Planning.ProxyCheck.PassProvesResolved"/>).
    /// </summary>
    public Task WaitForProxyAsync(string name, string network, string url, HealthProbe health, string probeToken, TimeSpan timeout, CancellationToken ct,
        Func<CancellationToken, Task>? onFirstAnswer = null, IReadOnlyList<HealthProbe>? routes = null, bool passProvesResolved = false) =>
        WaitAsync(name, network, _ => new Probe(url + health.Path, c => ProbeRoutesAsync(url, [health, .. routes ?? []], probeToken, c)), health,
            stopOnSteadyNotFound: false, () => ProxyInterval, timeout, ct, onFirstAnswer, passProvesResolved);

    /// <summary>
    /// Each route in turn, stopping at the first that does not pass: the first route's answer when all pass, else the failing
    /// one's, named by its path when it is not the first.
    /// </summary>
    private static async Task<(bool Ok, string Result, int Status)> ProbeRoutesAsync(string url, IReadOnlyList<HealthProbe> routes, string probeToken, CancellationToken ct)
    {
        (bool Ok, string Result, int Status) first = default;
        for (var i = 0; i < routes.Count; i++)
        {
            var answer = await ProbeAsync(new Uri(url + routes[i].Path), routes[i], probeToken, ct).ConfigureAwait(false);
            if (i == 0) first = answer;
            if (!answer.Ok) return i == 0 ? answer : (false, $"GET {routes[i].Path} → {answer.Result}", answer.Status);
        }
        return first;
    }

    /// <summary>
    /// How long a strict probe of a replica may be answered "not found" before waiting stops: the app is up and serves nothing
    /// at the path, which more waiting will not change (STACK4017, long before StackReadyTimeout). Replicas only: by the time
    /// the proxy is probed they passed the same path, so nginx's answers are its own business (STACK4010).
    /// </summary>
    public static readonly TimeSpan SteadyNotFoundTime = TimeSpan.FromSeconds(10);

    /// <summary>
    /// When a replica that gives no HTTP answer has its output read for where it listens, and how often after that: apps here
    /// answer within 0.4–0.8 s of their start, which then costs nothing; one that listens elsewhere is named within about 2 s.
    /// With more than 4 replicas awaited at once (16 .NET start-ups sharing 2 cores take seconds each) each is read less
    /// often, so the waits together read about 4 outputs a second at most.
    /// </summary>
    internal static readonly TimeSpan ListenCheckAfter = TimeSpan.FromSeconds(1.5), ListenCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>How many of its last output lines are searched for where it listens: Kestrel says so at start-up, and an app's
    /// own start-up (migrations, warm-up) may log a good deal after it.</summary>
    private const int ListenCheckTail = 500;

    private async Task WaitAsync(string name, string network, Func<ContainerStatus, Probe?> target, HealthProbe health, bool stopOnSteadyNotFound,
        Func<TimeSpan> interval, TimeSpan timeout, CancellationToken ct, Func<CancellationToken, Task>? onFirstAnswer = null, bool passProvesResolved = false,
        int? appPort = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        // An app that gives no answer yet: after a moment (most answer by then, and cost no log read), its output is asked
        // where it listens, once per ListenCheckInterval.
        var nextListenCheck = DateTime.UtcNow + ListenCheckAfter;
        var last = "not probed yet";
        Probe? probe = null;
        DateTime? notFoundSince = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var status = await engine.InspectContainerAsync(name, network, ct).ConfigureAwait(false)
                ?? throw new ContainerExitedException(name, -1, "(the container no longer exists)");
            if (!status.Running || status.RestartCount > 0)
                throw new ContainerExitedException(name, status.ExitCode, await engine.GetLogsAsync(name, LogTail, ct).ConfigureAwait(false));
            probe = target(status);
            if (probe is not null)
            {
                var (ok, result, code) = await probe.Send(ct).ConfigureAwait(false);
                if (code > 0 && onFirstAnswer is { } answered && !(ok && passProvesResolved))
                {
                    onFirstAnswer = null;
                    log.Detail($"{name} first answered {result}");
                    await answered(ct).ConfigureAwait(false);
                    continue;
                }
                if (ok)
                {
                    log.Detail($"{name} ready: {(health.HostStarted ? "" : "GET ")}{probe.Target} -> {result}");
                    return;
                }
                last = result;
                if (code == 0 && appPort is { } port && DateTime.UtcNow >= nextListenCheck)
                {
                    nextListenCheck = DateTime.UtcNow + ListenCheckInterval * Math.Max(1, ReplicasAwaited / 4.0);
                    if (KestrelAddresses.Unreachable(await engine.GetLogsAsync(name, ListenCheckTail, ct).ConfigureAwait(false), port) is { } urls)
                        throw new AppListensElsewhereException(name, port, urls);
                }
                notFoundSince = stopOnSteadyNotFound && code is 404 or 405 or 410 ? notFoundSince ?? DateTime.UtcNow : null;
                if (notFoundSince is { } since && DateTime.UtcNow - since >= SteadyNotFoundTime)
                    throw new HealthPathNotServedException(name, health.Path, result, (int)SteadyNotFoundTime.TotalSeconds);
            }
            else last = "no address on " + network;
            if (DateTime.UtcNow >= deadline)
                throw new ReadinessTimeoutException(name, probe?.Target ?? "(no address)", (int)timeout.TotalSeconds, last,
                    await engine.GetLogsAsync(name, LogTail, ct).ConfigureAwait(false));
            await Task.Delay(interval(), ct).ConfigureAwait(false);
        }
    }
}
