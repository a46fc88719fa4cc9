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


    [DockerFact]
    public async Task StackUp_serves_hello_world_through_nginx_and_every_replica_answers()
    {
        var up = await shared.Sample.BuildAsync("StackUp", Props());
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains($"Stack '{Stack}': 3 replica(s) behind nginx at http://127.0.0.1:{Port}", up.Output);

        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        // StackUp (a build server) keeps the image's Production: appsettings.Development.json does not apply.
        Assert.Equal("Production - -\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/environment"));
        var hosts = new HashSet<string>();
        for (var i = 0; i < 30; i++) hosts.Add((await Http.GetStringAsync($"http://127.0.0.1:{Port}/whoami")).Trim());
        Assert.Equal(3, hosts.Count);
        var containers = await Probe.ContainersAsync(Stack);
        Assert.Equal(hosts.Order(), containers.Where(c => c.Labels["proxystack.role"] == "app").Select(c => c.ID[..12]).Order());
    }

    [DockerFact]
    public async Task Replicas_publish_no_port_and_the_proxy_listens_on_loopback_only()
    {
        var up = await shared.Sample.BuildAsync("StackUp", Props(2));
        Assert.True(up.ExitCode == 0, up.ToString());

        foreach (var name in new[] { $"{Stack}-app-1", $"{Stack}-app-2" })
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
        using var response = await Http.GetAsync($"http://127.0.0.1:{Port}/");
        Assert.Equal("nginx", response.Headers.Server.ToString());
    }

    [DockerFact]
    public async Task StackUp_at_detailed_verbosity_logs_where_the_time_went()
    {
        var up = await shared.Sample.BuildAsync("StackUp", Props(2), verbosity: "d");
        Assert.True(up.ExitCode == 0, up.ToString()[..Math.Min(4000, up.Output.Length)]);
        foreach (var line in new[] { "profile: engine ping took ", "profile: app image check took ", "profile: proxy image check or build took ",
                     "profile: observe (listing, image ids, proxy config, ports, readiness) took ", "profile: apply took " })
            Assert.Contains(line, up.Output);
        var phases = up.Output.Split('\n').Single(l => l.Contains("profile: network "));
        foreach (var phase in new[] { "network ", "create ", "start ", "readiness ", "proxy ", "total " }) Assert.Contains(phase, phases);
        Assert.Contains("(2 steps)", phases);
    }

    [DockerFact]
    public async Task Second_StackUp_touches_no_container()
    {
        var first = await shared.Sample.BuildAsync("StackUp", Props(2));
        Assert.True(first.ExitCode == 0, first.ToString());
        var before = await Probe.SnapshotAsync(Stack);

        var second = await shared.Sample.BuildAsync("StackUp", Props(2));
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains($"Stack '{Stack}' is up to date.", second.Output);
        Assert.DoesNotContain("Building image", second.Output);
        Assert.Equal(before, await Probe.SnapshotAsync(Stack));
    }

    [DockerFact]
    public async Task StackStatus_prints_each_container_with_state_readiness_and_the_url()
    {
        var up = await shared.Sample.BuildAsync("StackUp", Props(2));
        Assert.True(up.ExitCode == 0, up.ToString());
        var status = await shared.Sample.BuildAsync("StackStatus", Props(2));
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Matches($@"{Stack}-app-1\s+app\s+running\s+yes", status.Output);
        Assert.Matches($@"{Stack}-app-2\s+app\s+running\s+yes", status.Output);
        Assert.Matches($@"{Stack}-proxy\s+proxy\s+running\s+yes", status.Output);
        Assert.Contains($"URL: http://127.0.0.1:{Port}", status.Output);
    }

    [DockerFact]
    public async Task StackDown_removes_every_container_and_the_network_and_succeeds_when_nothing_is_there()
    {
        var up = await shared.Sample.BuildAsync("StackUp", Props(2));
        Assert.True(up.ExitCode == 0, up.ToString());
        var down = await shared.Sample.BuildAsync("StackDown", Props(2));
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));

        var again = await shared.Sample.BuildAsync("StackDown", Props(2));
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
