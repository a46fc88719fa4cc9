using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

[Collection(StacksCollection.Name)]
public sealed class StackUpTests(SharedSample shared) : StackTest
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private Dictionary<string, string> Props(int replicas = 3) => new()
    {
        ["StackName"] = Stack,
        ["StackHostPort"] = Port.ToString(),
        ["StackReplicas"] = replicas.ToString(),
    };


    /// <summary>
    /// One bring-up, looked at from every side (each look was a test with its own bring-up; one saves the suite a minute):
    /// what it serves, what it publishes, where its time went, what StackStatus says, that a second StackUp touches nothing,
    /// and that StackDown removes everything and may be repeated.
    /// </summary>
    [DockerFact]
    public async Task StackUp_serves_every_replica_on_loopback_only_says_where_its_time_went_and_a_second_StackUp_touches_nothing()
    {
        var up = await shared.Sample.BuildAsync("StackUp", Props(), verbosity: "d");
        Assert.True(up.ExitCode == 0, up.ToString()[..Math.Min(4000, up.Output.Length)]);
        Assert.Contains($"Stack '{Stack}': 3 replica(s) behind nginx at http://127.0.0.1:{Port}", up.Output);

        // Served through nginx by every replica; StackUp (a build server) keeps the image's Production.
        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        Assert.Equal("Production - -\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/environment"));
        var hosts = new HashSet<string>();
        for (var i = 0; i < 30; i++) hosts.Add((await Http.GetStringAsync($"http://127.0.0.1:{Port}/whoami")).Trim());
        Assert.Equal(3, hosts.Count);
        var containers = await Probe.ContainersAsync(Stack);
        Assert.Equal(hosts.Order(), containers.Where(c => c.Labels["proxystack.role"] == "app").Select(c => c.ID[..12]).Order());

        // Replicas publish no port and run as no root; nginx runs as nobody and publishes its unprivileged port on loopback only.
        foreach (var name in new[] { $"{Stack}-app-1", $"{Stack}-app-2", $"{Stack}-app-3" })
        {
            var app = await Probe.InspectAsync(name);
            Assert.True(app.HostConfig.PortBindings is null || app.HostConfig.PortBindings.Count == 0, name);
            Assert.True(app.NetworkSettings.Ports is null || app.NetworkSettings.Ports.All(p => p.Value is null || p.Value.Count == 0), name);
            Assert.Equal([$"{Stack}-net"], app.NetworkSettings.Networks.Keys);
            // The user name or uid before any ':' group: root is "", "0" or "root" — with or without a group ("0:0").
            var user = app.Config.User.Split(':')[0];
            Assert.False(user is "" or "0" or "root", $"{name} runs as '{app.Config.User}'");
        }
        var proxy = await Probe.InspectAsync($"{Stack}-proxy");
        Assert.Equal("65534:65534", proxy.Config.User);
        // Only nginx's unprivileged port is published (the base image may expose 80 too, unpublished).
        var published = Assert.Single(proxy.NetworkSettings.Ports, p => p.Value is { Count: > 0 });
        Assert.Equal("8080/tcp", published.Key);
        var binding = Assert.Single(published.Value);
        Assert.Equal("127.0.0.1", binding.HostIP);
        Assert.Equal(Port.ToString(), binding.HostPort);
        // nginx sends no version.
        using (var response = await Http.GetAsync($"http://127.0.0.1:{Port}/")) Assert.Equal("nginx", response.Headers.Server.ToString());

        // At detailed verbosity the bring-up says where its time went.
        foreach (var line in new[] { "profile: engine ping took ", "profile: app image check took ", "profile: proxy image check or build took ",
                     "profile: observe (listing, image ids, proxy config, ports, readiness) took ", "profile: apply took ",
                     "profile: engine warm-up " })
            Assert.Contains(line, up.Output);
        var phases = up.Output.Split('\n').Single(l => l.Contains("profile: network "));
        foreach (var phase in new[] { "network ", "create ", "start ", "readiness ", "proxy ", "total " }) Assert.Contains(phase, phases);
        Assert.Contains("(3 steps)", phases);
        // The fresh proxy was held until the three slot names answered, so nginx was not reloaded — and yet every replica
        // served above, right after StackUp returned.
        Assert.Contains("started once every slot name resolved, no reload", up.Output);
        Assert.DoesNotContain("told to resolve again", up.Output);

        // StackStatus: each container with its state and readiness, and the URL.
        var status = await shared.Sample.BuildAsync("StackStatus", Props());
        Assert.True(status.ExitCode == 0, status.ToString());
        for (var n = 1; n <= 3; n++) Assert.Matches($@"{Stack}-app-{n}\s+app\s+running\s+yes", status.Output);
        Assert.Matches($@"{Stack}-proxy\s+proxy\s+running\s+yes", status.Output);
        Assert.Contains($"URL: http://127.0.0.1:{Port}", status.Output);

        // A second StackUp builds nothing and touches no container.
        var before = await Probe.SnapshotAsync(Stack);
        var second = await shared.Sample.BuildAsync("StackUp", Props());
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains($"Stack '{Stack}' is up to date.", second.Output);
        Assert.DoesNotContain("Building image", second.Output);
        Assert.Equal(before, await Probe.SnapshotAsync(Stack));

        // StackDown removes every container and the network, and succeeds when nothing is there.
        var down = await shared.Sample.BuildAsync("StackDown", Props());
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
        var again = await shared.Sample.BuildAsync("StackDown", Props());
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains($"Stack '{Stack}': nothing to remove.", again.Output);
    }

    [DockerFact]
    public async Task Build_with_StackUpOnBuild_brings_the_stack_up()
    {
        var props = Props(1);
        props["StackUpOnBuild"] = "true";
        var build = await shared.Sample.BuildAsync("Build", props);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Equal(2, (await Probe.ContainersAsync(Stack)).Count);
        using var http = new HttpClient();
        Assert.Equal("hello world\n", await http.GetStringAsync($"http://127.0.0.1:{Port}/"));
    }

    [DockerFact]
    public async Task Plain_build_starts_no_container()
    {
        var build = await shared.Sample.BuildAsync("Build", Props(1));
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Empty(await Probe.ContainersAsync(Stack));
    }
}
