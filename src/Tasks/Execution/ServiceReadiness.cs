using System.Globalization;
using System.Text.RegularExpressions;
using ProxyStack.Engine;
using ProxyStack.Model;

namespace ProxyStack.Execution;

/// <summary>
/// Waits for a backing container to be ready by its ReadyWhen rule (see <see cref="ReadyRule"/>). Everything is asked of the
/// engine — a command run in the container, its output — never of a route from this machine to the container, which Docker
/// Desktop and Podman machines do not give (the http rule goes through the replicas' probe, relay included).
/// </summary>
internal static class ServiceReadiness
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    public static async Task WaitAsync(IContainerEngine engine, ReadinessWaiter waiter, string name, string network, ReadyRule rule, int port, TimeSpan timeout, CancellationToken ct)
    {
        if (rule.Kind == ReadyRule.Http)
        {
            try
            {
                await waiter.WaitForReplicaAsync(name, network, null, port, new HealthProbe(rule.Argument, Strict: true), timeout, ct).ConfigureAwait(false);
                return;
            }
            catch (ReadinessTimeoutException t)
            {
                throw new ReadinessTimeoutException(name, rule.ToString(), t.Seconds, t.LastResult, t.Logs);
            }
        }
        var deadline = DateTime.UtcNow + timeout;
        var last = "not checked yet";
        while (true)
        {
            var status = await engine.InspectContainerAsync(name, network, ct).ConfigureAwait(false);
            if (status is { Running: false, State: "exited" or "dead" })
                throw new ContainerExitedException(name, status.ExitCode, await engine.GetLogsAsync(name, 30, ct).ConfigureAwait(false));
            if (status is { Running: true })
            {
                // A check never outlives the wait: a command that hangs is cut at the deadline (at least a second).
                try
                {
                    (var ready, last) = await GuardedCheckAsync(engine, name, rule, port, Max(deadline - DateTime.UtcNow, TimeSpan.FromSeconds(1)), ct).ConfigureAwait(false);
                    if (ready) return;
                }
                catch (EngineRequestException e) when (rule.Kind is ReadyRule.Tcp or ReadyRule.Command)
                {
                    // No shell in the image (a distroless one): the check cannot run, and waiting will not change that.
                    throw new ReadinessTimeoutException(name, rule.ToString(), (int)timeout.TotalSeconds,
                        $"the check could not run in the container ({e.Reason}); use ReadyWhen=log:<pattern> or http:<path> for an image without sh",
                        await engine.GetLogsAsync(name, 30, ct).ConfigureAwait(false));
                }
            }
            else last = $"container {status?.State ?? "missing"}";
            if (DateTime.UtcNow >= deadline)
                throw new ReadinessTimeoutException(name, rule.ToString(), (int)timeout.TotalSeconds, last, await engine.GetLogsAsync(name, 30, ct).ConfigureAwait(false));
            await Task.Delay(Poll, ct).ConfigureAwait(false);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>
    /// One check of a running backing container by its rule, cut after <see cref="OnceTimeout"/>: null when it is ready now,
    /// else what was seen. A kept container is kept only once proven ready again (see StackObserver).
    /// </summary>
    public static async Task<string?> CheckOnceAsync(IContainerEngine engine, ReadinessWaiter waiter, string name, string network, ReadyRule rule, int port, CancellationToken ct)
    {
        if (rule.Kind == ReadyRule.Http)
            return await waiter.ProbeReplicaOnceAsync(name, network, null, port, new HealthProbe(rule.Argument, Strict: true), ct).ConfigureAwait(false);
        try
        {
            var (ready, seen) = await GuardedCheckAsync(engine, name, rule, port, OnceTimeout, ct).ConfigureAwait(false);
            return ready ? null : seen;
        }
        catch (EngineRequestException e) { return $"the check could not run ({e.Reason})"; }
    }

    /// <summary>
    /// One check cut after <paramref name="limit"/>, its failures that mean "not ready yet" turned into what was seen: a check
    /// that did not finish, a log pattern too slow to match, an exec the engine refuses while the container restarts. Other
    /// engine refusals (no shell in the image) are the caller's to judge.
    /// </summary>
    private static async Task<(bool Ready, string Seen)> GuardedCheckAsync(IContainerEngine engine, string name, ReadyRule rule, int port, TimeSpan limit, CancellationToken ct)
    {
        using var check = CancellationTokenSource.CreateLinkedTokenSource(ct);
        check.CancelAfter(limit);
        try { return await CheckAsync(engine, name, rule, port, check.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return (false, "the check did not finish before the deadline"); }
        catch (RegexMatchTimeoutException) { return (false, "the log: pattern took too long to match"); }
        catch (EngineRequestException e) when (e.IsConflict) { return (false, $"the check could not run yet ({e.Reason})"); }
    }

    /// <summary>How long one check of a kept container may take before it counts as not ready.</summary>
    public static readonly TimeSpan OnceTimeout = TimeSpan.FromSeconds(5);

    /// <summary>One check of a running container: whether it is ready, and what was seen.</summary>
    private static async Task<(bool Ready, string Seen)> CheckAsync(IContainerEngine engine, string name, ReadyRule rule, int port, CancellationToken ct)
    {
        switch (rule.Kind)
        {
            case ReadyRule.Running:
                return (true, "running");
            case ReadyRule.Log:
                var logs = await engine.GetLogsAsync(name, 1000, ct).ConfigureAwait(false);
                return (Regex.IsMatch(logs, rule.Argument, RegexOptions.Multiline, TimeSpan.FromSeconds(1)), "no matching line yet");
            case ReadyRule.Tcp:
                // A socket listening on the port, from the kernel's own table inside the container (as Testcontainers checks
                // a port from within): state 0A is LISTEN, the local port is hexadecimal.
                // Only a socket other containers can reach counts: one on the loopback address alone (127.x, ::1, or 127.x
                // mapped into IPv6) is an image still initializing — mongo's first start runs a server on 127.0.0.1 while it
                // creates the root user — or a server bound to localhost, which its dependants could never reach.
                var hex = port.ToString("X4", CultureInfo.InvariantCulture);
                var (code, output) = await engine.ExecAsync(name, ["sh", "-c",
                    $"l=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -iE ':{hex} [0-9A-F]+:0000 0A') || exit 1; " +
                    $"printf '%s\\n' \"$l\" | grep -qviE ': *([0-9A-F]{{6}}7F|0{{24}}01000000|0{{16}}FFFF0000[0-9A-F]{{6}}7F):{hex} ' || exit 3"], ct).ConfigureAwait(false);
                return code switch
                {
                    0 => (true, "ready"),
                    3 => (false, $"it listens on port {port} only on its loopback address, which other containers cannot reach (still initializing, or bound to localhost)"),
                    _ => (false, $"nothing listens on port {port} yet (exit code {code}{(output.Trim().Length > 0 ? ": " + output.Trim() : "")})"),
                };
            default:
                return await RunAsync(engine, name, rule.Argument, "the command did not exit 0", ct).ConfigureAwait(false);
        }
    }

    private static async Task<(bool, string)> RunAsync(IContainerEngine engine, string name, string script, string notYet, CancellationToken ct)
    {
        var (code, output) = await engine.ExecAsync(name, ["sh", "-c", script], ct).ConfigureAwait(false);
        return code == 0 ? (true, "ready") : (false, $"{notYet} (exit code {code}{(output.Trim().Length > 0 ? ": " + output.Trim() : "")})");
    }
}
