using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ProxyStack.IntegrationTests;

/// <summary>Reconcile, don't restart: only what changed is touched, and what was broken by hand is repaired (no request is dropped while it changes: ZeroDowntimeTests).</summary>
[Collection(StacksCollection.Name)]
public sealed class ReconcileTests(SharedSample shared) : StackTest
{
    private string Url => $"http://127.0.0.1:{Port}/";

    private Dictionary<string, string> Props(int replicas) => new()
    {
        ["StackName"] = Stack, ["StackHostPort"] = Port.ToString(), ["StackReplicas"] = replicas.ToString(),
    };

    private static async Task UpAsync(SampleCopy sample, Dictionary<string, string> props)
    {
        var result = await sample.BuildAsync("StackUp", props);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    /// <summary>
    /// One stack, broken by hand three ways in turn, each repaired by the next StackUp touching only what it must: a config
    /// that differs from the generated one is reloaded in place; a proxy deleted by hand comes back while surplus replicas
    /// (a scale-down) go and the kept replica stays; a network deleted by hand is recreated with everything on it.
    /// </summary>
    [DockerFact]
    public async Task What_was_changed_or_deleted_by_hand_is_repaired_by_the_next_StackUp()
    {
        await UpAsync(shared.Sample, Props(3));
        var before = await Probe.SnapshotAsync(Stack);
        // Simulate a config written by an older ProxyStack: the running proxy's nginx.conf differs from the generated one.
        using (var engine = new ProxyStack.Engine.DockerEngine())
        {
            var (exit, text) = await engine.ExecAsync($"{Stack}-proxy",
                ["sh", "-c", "sed -i 's/keepalive 32;/keepalive 16;/' /run/proxystack/nginx.conf && nginx -c /run/proxystack/nginx.conf -s reload"], CancellationToken.None);
            Assert.True(exit == 0, text);
        }
        var reload = await shared.Sample.BuildAsync("StackUp", Props(3));
        Assert.True(reload.ExitCode == 0, reload.ToString());
        Assert.Contains($"reload {Stack}-proxy: configuration changed", reload.Output);
        Assert.Equal(before, await Probe.SnapshotAsync(Stack));
        var again = await shared.Sample.BuildAsync("StackUp", Props(3));
        Assert.Contains($"Stack '{Stack}' is up to date.", again.Output);

        // The proxy deleted by hand, and a scale-down at the same time.
        await Probe.Client.Containers.RemoveContainerAsync($"{Stack}-proxy", new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
        var repaired = await shared.Sample.BuildAsync("StackUp", Props(1));
        Assert.True(repaired.ExitCode == 0, repaired.ToString());
        var after = await Probe.SnapshotAsync(Stack);
        Assert.Equal([$"{Stack}-app-1", $"{Stack}-proxy"], after.Keys.Order());
        Assert.Equal(before[$"{Stack}-app-1"], after[$"{Stack}-app-1"]);
        using var http = new HttpClient();
        Assert.Equal("hello world\n", await http.GetStringAsync(Url));

        // Docker only lets a network go once nothing runs on it: stop everything, then delete the network, as a user would.
        foreach (var c in await Probe.ContainersAsync(Stack))
            await Probe.Client.Containers.StopContainerAsync(c.ID, new Docker.DotNet.Models.ContainerStopParameters { WaitBeforeKillSeconds = 5 });
        await Probe.Client.Networks.DeleteNetworkAsync($"{Stack}-net");
        var result = await shared.Sample.BuildAsync("StackUp", Props(2));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("network recreated", result.Output);
        Assert.Single(await Probe.NetworksAsync(Stack));
        Assert.Equal(3, (await Probe.ContainersAsync(Stack)).Count);
        var hosts = new HashSet<string>();
        for (var i = 0; i < 20; i++) hosts.Add(await http.GetStringAsync(Url + "whoami"));
        Assert.Equal(2, hosts.Count);
    }
}
