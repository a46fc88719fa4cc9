using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>The three networking modes end to end: every replica serves through nginx, and only what should be reachable is.</summary>
[Collection(StacksCollection.Name)]
public sealed partial class NetworkModeTests(SharedSample shared) : StackTest
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };


    private Task<ProcessResult> UpAsync(string mode) => shared.Sample.BuildAsync("StackUp", new Dictionary<string, string>
    {
        ["StackName"] = Stack, ["StackHostPort"] = Port.ToString(), ["StackReplicas"] = "3", ["StackNetworkMode"] = mode,
    });

    [GeneratedRegex(@"upstream=(\S+(?:, \S+)*) rt=")]
    private static partial Regex UpstreamInLog();

    /// <summary>
    /// Sends 30 requests through nginx and returns the distinct upstream addresses nginx logged for them: only the lines after
    /// a marker request of this call, and every address of a line (a request nginx passed to a second replica after the first
    /// failed to connect is logged as "a, b").
    /// </summary>
    private async Task<HashSet<string>> UpstreamsServingAsync()
    {
        var marker = "/marker-" + Guid.NewGuid().ToString("N");
        await Http.GetAsync($"http://127.0.0.1:{Port}{marker}");
        for (var i = 0; i < 30; i++) Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        using var engine = new ProxyStack.Engine.DockerEngine();
        // nginx writes its access log at least once a second (buffered): wait for the marker and the 30 lines after it.
        var logs = "";
        var after = -1;
        for (var wait = Stopwatch.StartNew(); wait.Elapsed < TimeSpan.FromSeconds(5); await Task.Delay(200))
        {
            logs = await engine.GetLogsAsync($"{Stack}-proxy", 200, CancellationToken.None);
            after = logs.LastIndexOf(marker, StringComparison.Ordinal);
            if (after >= 0 && UpstreamInLog().Matches(logs[after..]).Count >= 31) break;
        }
        Assert.True(after >= 0, "the marker request is not in nginx's log:\n" + logs);
        return UpstreamInLog().Matches(logs[after..]).SelectMany(m => m.Groups[1].Value.Split(", ")).ToHashSet();
    }

    /// <summary>Local addresses listening on a TCP port on this host, from /proc/net/tcp (IPv4).</summary>
    private static List<string> ListenersOn(int port)
    {
        var hexPort = port.ToString("X4", CultureInfo.InvariantCulture);
        return File.ReadLines("/proc/net/tcp").Skip(1).Select(l => l.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f[3] == "0A" && f[1].EndsWith(":" + hexPort, StringComparison.Ordinal))
            .Select(f => f[1]).ToList();
    }

    private async Task AssertReplicasPublishNothingAsync()
    {
        foreach (var c in (await Probe.ContainersAsync(Stack)).Where(c => c.Labels["proxystack.role"] == "app"))
        {
            var app = await Probe.InspectAsync(c.ID);
            Assert.True(app.HostConfig.PortBindings is null || app.HostConfig.PortBindings.Count == 0, c.Names[0]);
            Assert.True(app.NetworkSettings.Ports is null || app.NetworkSettings.Ports.All(p => p.Value is null || p.Value.Count == 0), c.Names[0]);
        }
    }

    private async Task AssertNothingLeftAfterDownAsync()
    {
        var down = await shared.Sample.BuildAsync("StackDown", new Dictionary<string, string> { ["StackName"] = Stack });
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }

    /// <summary>
    /// Each mode's promise, checked on one stack that walks bridge → host → link → bridge (every switch on a running stack,
    /// so no stray network or container of the mode before may be left), then StackDown leaves nothing.
    /// </summary>
    [DockerFact]
    public async Task Every_mode_serves_every_replica_exposes_only_what_it_should_and_switching_leaves_nothing_stray()
    {
        foreach (var mode in new[] { "bridge", "host", "link", "bridge" })
        {
            var up = await UpAsync(mode);
            Assert.True(up.ExitCode == 0, $"{mode}: {up}");
            var containers = await Probe.ContainersAsync(Stack);
            Assert.True(containers.Count == 4, $"{mode}: {string.Join(", ", containers.Select(c => $"{c.Names[0]} ({c.State})"))}\n{up.Output}");
            Assert.All(containers, c => Assert.Equal(mode, c.Labels["proxystack.network-mode"]));
            Assert.Equal(mode == "bridge" ? 1 : 0, (await Probe.NetworksAsync(Stack)).Count);
            var serving = await UpstreamsServingAsync();
            Assert.True(serving.Count == 3, $"{mode}: upstreams {string.Join(", ", serving)}\n{up.Output}");
            // On the host only nginx listens for the stack: its port, on loopback (0100007F).
            Assert.Equal([$"0100007F:{Port:X4}"], ListenersOn(Port));
            switch (mode)
            {
                case "host":
                    Assert.Contains($"replicas listen on 127.0.0.1:{Port + 1} to 127.0.0.1:{Port + 3}, reachable from this host only", up.Output);
                    Assert.Equal(Enumerable.Range(1, 3).Select(n => $"127.0.0.1:{Port + n}").ToHashSet(), serving);
                    for (var n = 1; n <= 3; n++)
                    {
                        // Each replica answers on its own port, and listens on loopback only, never on all interfaces.
                        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port + n}/"));
                        Assert.Equal([$"0100007F:{Port + n:X4}"], ListenersOn(Port + n));
                    }
                    break;
                case "link":
                    Assert.Contains("warning STACK1014", up.Output);
                    await AssertReplicasPublishNothingAsync();
                    Assert.Equal(3, (await Probe.InspectAsync($"{Stack}-proxy")).HostConfig.Links.Count);
                    break;
                default:
                    await AssertReplicasPublishNothingAsync();
                    // The replica ports of host mode are free again.
                    Assert.All(Enumerable.Range(1, 3), n => Assert.Empty(ListenersOn(Port + n)));
                    break;
            }
        }
        await AssertNothingLeftAfterDownAsync();
    }
}
