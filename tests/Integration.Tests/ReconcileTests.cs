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

    [DockerFact]
    public async Task A_config_only_change_reloads_nginx_in_place()
    {
        await UpAsync(shared.Sample, Props(2));
        var before = await Probe.SnapshotAsync(Stack);
        // Simulate a config written by an older ProxyStack: the running proxy's nginx.conf differs from the generated one.
        using (var engine = new ProxyStack.Engine.DockerEngine())
        {
            var (exit, text) = await engine.ExecAsync($"{Stack}-proxy",
                ["sh", "-c", "sed -i 's/keepalive 32;/keepalive 16;/' /run/proxystack/nginx.conf && nginx -c /run/proxystack/nginx.conf -s reload"], CancellationToken.None);
            Assert.True(exit == 0, text);
        }

        var result = await shared.Sample.BuildAsync("StackUp", Props(2));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"reload {Stack}-proxy: configuration changed", result.Output);
        Assert.Equal(before, await Probe.SnapshotAsync(Stack));
        var again = await shared.Sample.BuildAsync("StackUp", Props(2));
        Assert.Contains($"Stack '{Stack}' is up to date.", again.Output);
    }

    [DockerFact]
    public async Task Orphans_and_a_proxy_deleted_by_hand_are_repaired_by_the_next_StackUp()
    {
        await UpAsync(shared.Sample, Props(3));
        await Probe.Client.Containers.RemoveContainerAsync($"{Stack}-proxy", new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
        var before = await Probe.SnapshotAsync(Stack);

        var result = await shared.Sample.BuildAsync("StackUp", Props(1));
        Assert.True(result.ExitCode == 0, result.ToString());
        var after = await Probe.SnapshotAsync(Stack);
        Assert.Equal([$"{Stack}-app-1", $"{Stack}-proxy"], after.Keys.Order());
        Assert.Equal(before[$"{Stack}-app-1"], after[$"{Stack}-app-1"]);
        using var http = new HttpClient();
        Assert.Equal("hello world\n", await http.GetStringAsync(Url));
    }

    [DockerFact]
    public async Task A_stack_whose_network_was_deleted_by_hand_is_repaired()
    {
        await UpAsync(shared.Sample, Props(2));
        // Docker only lets a network go once nothing runs on it: stop everything, then delete the network, as a user would.
        foreach (var c in await Probe.ContainersAsync(Stack))
            await Probe.Client.Containers.StopContainerAsync(c.ID, new Docker.DotNet.Models.ContainerStopParameters { WaitBeforeKillSeconds = 5 });
        await Probe.Client.Networks.DeleteNetworkAsync($"{Stack}-net");

        var result = await shared.Sample.BuildAsync("StackUp", Props(2));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("network recreated", result.Output);
        Assert.Single(await Probe.NetworksAsync(Stack));
        Assert.Equal(3, (await Probe.ContainersAsync(Stack)).Count);
        using var http = new HttpClient();
        var hosts = new HashSet<string>();
        for (var i = 0; i < 20; i++) hosts.Add(await http.GetStringAsync(Url + "whoami"));
        Assert.Equal(2, hosts.Count);
    }
}
