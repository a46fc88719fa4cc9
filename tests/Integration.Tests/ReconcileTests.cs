using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ProxyStack.IntegrationTests;

/// <summary>Reconcile, don't restart: only what changed is touched, and what was broken by hand is repaired (no request is dropped while it changes: ZeroDowntimeTests).</summary>
[Collection(StacksCollection.Name)]
public sealed class ReconcileTests(SharedSample shared) : StackTest
{
    private string Url => $"http://127.0.0.1:{Port}/";

    /// <summary>
    /// One stack, broken by hand three ways in turn, each repaired by the next StackUp touching only what it must: a config
    /// that differs from the generated one is reloaded in place; a proxy deleted by hand comes back while surplus replicas
    /// (a scale-down) go and the kept replica stays; a network deleted by hand is recreated with everything on it.
    /// </summary>
    [DockerFact]
    public async Task What_was_changed_or_deleted_by_hand_is_repaired_by_the_next_StackUp()
    {
        await UpAsync(shared.Sample, StackProps(3));
        var before = await Probe.SnapshotAsync(Stack);
        // Simulate a config written by an older ProxyStack: the running proxy's nginx.conf differs from the generated one.
        using (var engine = new ProxyStack.Engine.DockerEngine())
        {
            var (exit, text) = await engine.ExecAsync($"{Stack}-proxy",
                ["sh", "-c", "sed -i 's/keepalive 32;/keepalive 16;/' /run/proxystack/nginx.conf && nginx -c /run/proxystack/nginx.conf -s reload"], CancellationToken.None);
            Assert.True(exit == 0, text);
        }
        var reload = await shared.Sample.BuildAsync("StackUp", StackProps(3));
        Assert.True(reload.ExitCode == 0, reload.ToString());
        Assert.Contains($"reload {Stack}-proxy: configuration changed", reload.Output);
        Assert.Equal(before, await Probe.SnapshotAsync(Stack));
        var again = await shared.Sample.BuildAsync("StackUp", StackProps(3));
        Assert.Contains($"Stack '{Stack}' is up to date.", again.Output);

        // The proxy deleted by hand, and a scale-down at the same time.
        await Probe.Client.Containers.RemoveContainerAsync($"{Stack}-proxy", new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
        var repaired = await shared.Sample.BuildAsync("StackUp", StackProps(1));
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
        var result = await shared.Sample.BuildAsync("StackUp", StackProps(2));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("network recreated", result.Output);
        Assert.Single(await Probe.NetworksAsync(Stack));
        Assert.Equal(3, (await Probe.ContainersAsync(Stack)).Count);
        var hosts = new HashSet<string>();
        for (var i = 0; i < 20; i++) hosts.Add(await http.GetStringAsync(Url + "whoami"));
        Assert.Equal(2, hosts.Count);
    }

    /// <summary>
    /// A StackPublish's probe of an image's user, a StackStatus's relay and another bring-up's nginx version probe are made
    /// outside the stack lock; a StackUp running meanwhile must not remove them under their builds' feet, while one a killed
    /// build left (its in-use time passed) goes. Both made here as those builds make them (the proxy's labels, an in-use time,
    /// created and never started), from the stack's own proxy image.
    /// </summary>
    [DockerFact]
    public async Task A_throwaway_another_build_still_uses_is_left_to_it_and_one_a_killed_build_left_is_removed()
    {
        await UpAsync(shared.Sample, StackProps(1));
        var proxy = await Probe.InspectAsync($"{Stack}-proxy");
        var now = DateTimeOffset.UtcNow;
        string[] kept = ["proxystack.stack", "proxystack.role", "proxystack.owner", "proxystack.version"];
        async Task<string> ThrowawayAsync(string name, DateTimeOffset inUseUntil)
        {
            var labels = proxy.Config.Labels.Where(l => kept.Contains(l.Key)).ToDictionary(l => l.Key, l => l.Value);
            Assert.Equal(4, labels.Count);
            labels["proxystack.in-use-until"] = inUseUntil.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Probe.Client.Containers.CreateContainerAsync(new Docker.DotNet.Models.CreateContainerParameters
            {
                Name = name, Image = proxy.Image, Labels = labels,
                HostConfig = new Docker.DotNet.Models.HostConfig { NetworkMode = "none" },
            });
            return name;
        }
        var inUse = await ThrowawayAsync($"{Stack}-proxy-user-inuse001", now + TimeSpan.FromMinutes(5));
        var leftOver = await ThrowawayAsync($"{Stack}-proxy-user-killed01", now - TimeSpan.FromSeconds(1));

        var up = await shared.Sample.BuildAsync("StackUp", StackProps(1));
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains($"remove {leftOver}: left over from an interrupted build", up.Output);
        Assert.DoesNotContain(inUse, up.Output);
        var names = (await Probe.ContainersAsync(Stack)).Select(c => c.Names[0].TrimStart('/')).Order().ToList();
        Assert.Equal([$"{Stack}-app-1", $"{Stack}-proxy", inUse], names);
        using var http = new HttpClient();
        Assert.Equal("hello world\n", await http.GetStringAsync(Url));
        // StackStatus lists it as what it is, and asks it nothing (it never started).
        var status = await shared.Sample.BuildAsync("StackStatus", StackProps(1));
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Matches($@"{inUse}\s+throwaway\s+created\s+-\s", status.Output);
        Assert.Matches($@"{Stack}-proxy\s+proxy\s+running\s+yes\s", status.Output);

        // StackDown was asked to remove the stack: the throwaway goes with it, in use or not.
        var down = await shared.Sample.BuildAsync("StackDown", StackProps(1));
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Empty(await Probe.ContainersAsync(Stack));
    }
}
