using ProxyStack.Diagnostics;
using ProxyStack.Execution;
using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;
using Xunit;

namespace ProxyStack.Tests;

public class NetworkModeTests
{
    /// <summary>"bridge.resolve": bridge mode with an nginx that re-resolves upstream names (DNS membership, the default image's).</summary>
    private static StackModel Model(string mode, int replicas = 3) => mode == "bridge.resolve"
        ? Builders.Model(replicas, "hellostack") with { NetworkMode = StackNetworkMode.Bridge.Name, NginxVersion = "1.30.6" }
        : Builders.Model(replicas, "hellostack") with { NetworkMode = mode };

    [Theory]
    [InlineData("bridge.resolve")]
    [InlineData("bridge")]
    [InlineData("host")]
    [InlineData("link")]
    public void Config_per_mode_matches_its_golden_file(string mode)
    {
        var actual = NginxConfigWriter.Write(Model(mode));
        if (Environment.GetEnvironmentVariable("PROXYSTACK_WRITE_GOLDEN") is { } dir) File.WriteAllText(Path.Combine(dir, $"nginx.{mode}.conf"), actual);
        GoldenFiles.AssertMatches($"nginx.{mode}.conf", actual);
    }

    [Theory]
    [InlineData("bridge.resolve")]
    [InlineData("bridge")]
    [InlineData("host")]
    [InlineData("link")]
    public void Docs_networking_shows_the_generated_config_of_each_mode(string mode) =>
        Assert.Contains(NginxConfigWriter.Write(Model(mode)), File.ReadAllText(Repository.File("docs", "networking.md")).ReplaceLineEndings("\n"));

    [Fact]
    public void Host_mode_gives_each_replica_its_own_loopback_port()
    {
        var m = Model("host") with { HostPort = 9000 };
        Assert.Equal(["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"], StackNetworking.Upstreams(m));
        Assert.Equal("127.0.0.1:9000", StackNetworking.ProxyListen(m));
        Assert.Contains(new KeyValuePair<string, string>("ASPNETCORE_URLS", "http://127.0.0.1:9002"), StackNetworking.AppEnvironment(m, 2));
        Assert.Equal("host", StackNetworking.ContainerNetwork(m));
    }

    [Fact]
    public void Link_mode_links_the_proxy_to_every_replica_on_the_default_bridge()
    {
        var m = Model("link", 2);
        Assert.Equal(["hellostack-app-1:hellostack-app-1", "hellostack-app-2:hellostack-app-2"], StackNetworking.ProxyLinks(m));
        Assert.Equal("bridge", StackNetworking.ContainerNetwork(m));
        Assert.Equal(["hellostack-app-1:8080", "hellostack-app-2:8080"], StackNetworking.Upstreams(m));
    }

    [Fact]
    public void Link_mode_warns_that_it_is_legacy()
    {
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { NetworkMode = "link" });
        Assert.NotNull(model);
        Assert.Equal("STACK1014", Assert.Single(diagnostics).Code);
    }

    [Fact]
    public void Host_mode_refuses_replica_ports_above_65535()
    {
        var (_, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { NetworkMode = "host", HostPort = "65534", Replicas = "2" });
        Assert.Equal("STACK1015", Assert.Single(diagnostics).Code);
    }

    private static ReconcileResult Plan(StackModel model, ObservedState observed) => Builders.Reconcile(model, observed);

    [Fact]
    public void Fresh_host_stack_has_no_network_and_publishes_nothing()
    {
        var model = Model("host", 1);
        var result = Plan(model, new ObservedState { ImageIds = Builders.Images() });
        Assert.Equal("""
             1. create hellostack-app-1: missing
             2. start hellostack-app-1: missing (after 1)
             3. wait ready hellostack-app-1: missing (after 2)
             4. create hellostack-proxy: missing (after 3)
             5. start hellostack-proxy: missing (after 4)
             6. wait proxy hellostack-proxy: missing (after 5)
            """.ReplaceLineEndings("\n").TrimEnd(), result.Plan.ToString());
        var proxy = result.Plan.Steps.Single(s => s.Kind == StepKind.CreateContainer && s.Resource == "hellostack-proxy").Container!;
        Assert.Empty(proxy.Publish);
        Assert.Equal("host", proxy.Network);
    }

    [Fact]
    public void A_busy_replica_port_in_host_mode_stops_the_bring_up_with_STACK4011()
    {
        var model = Model("host", 2) with { HostPort = 9000 };
        var result = Plan(model, new ObservedState { ImageIds = Builders.Images(), BusyReplicaPorts = new HashSet<int> { 9002 } });
        Assert.True(result.Plan.IsEmpty);
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal("STACK4011", d.Code);
        Assert.Contains("9002", d.Format());
    }

    [Fact]
    public async Task Host_mode_is_refused_with_STACK3003_where_the_engines_host_network_is_not_this_machines()
    {
        // The engine's name says nothing (Docker Desktop 4.34+ can do host networking): a listener on its host network is
        // either reachable on this machine's loopback or not. Not reachable: STACK3003, and the check's container is gone.
        var engine = new FakeEngine();
        var model = Model("host", 1);
        var refused = await Assert.ThrowsAsync<StackException>(() => HostNetworkCheck.RunAsync(engine, new CapturingStackLog(), model, "nginx:stable",
            CancellationToken.None, connect: (_, _) => Task.FromResult(false), timeout: TimeSpan.FromMilliseconds(300)));
        var message = refused.Diagnostic.Format();
        Assert.Matches(@"^STACK3003: StackNetworkMode is host, but the engine's host network is not this machine's: a container on it listened on 127\.0\.0\.1:\d+ and nothing answered here within 0\.3 s\. The engine runs elsewhere \(in a VM: Docker Desktop, Colima, a Podman machine; or on another host\), and nothing of the stack was changed\. Docker Desktop 4\.34 and later offer host networking as an option \(Settings, Resources, Network, Enable host networking\); otherwise set StackNetworkMode to bridge\.$", message);
        var spec = Assert.Single(engine.Specs.Values);
        Assert.Equal("host", spec.Network);
        Assert.Equal("65534:65534", spec.User);
        Assert.Contains(engine.Calls, c => c == $"rm {spec.Name}");
        Assert.Empty(engine.Containers);

        // Reachable (Linux, or Docker Desktop with host networking on): nothing is reported and the container is removed too.
        var linux = new FakeEngine();
        int? asked = null;
        await HostNetworkCheck.RunAsync(linux, new CapturingStackLog(), model, "nginx:stable", CancellationToken.None, connect: (port, _) => { asked = port; return Task.FromResult(true); });
        Assert.Contains($"listen 127.0.0.1:{asked};", Assert.Single(Assert.Single(linux.Specs.Values).Files).Content);
        Assert.Empty(linux.Containers);
    }

    [Fact]
    public void Host_mode_replaces_replicas_one_at_a_time_because_they_cannot_share_a_port()
    {
        var model = Model("host", 2);
        var observed = Builders.Running(model, NginxConfigWriter.Write(model)) with { ImageIds = Builders.Images("sha256:app2") };
        var plan = Plan(model, observed).Plan.ToString();
        Assert.Equal("""
             1. stop hellostack-app-1: image changed
             2. remove hellostack-app-1: image changed (after 1)
             3. create hellostack-app-1: image changed (after 2)
             4. start hellostack-app-1: image changed (after 3)
             5. wait ready hellostack-app-1: image changed (after 4)
             6. stop hellostack-app-2: image changed (after 5)
             7. remove hellostack-app-2: image changed (after 6)
             8. create hellostack-app-2: image changed (after 7)
             9. start hellostack-app-2: image changed (after 8)
            10. wait ready hellostack-app-2: image changed (after 9)
            11. reload hellostack-proxy: replicas changed (after 5,10)
            12. remove image sha256:app1: no longer used by the stack (after 5,10)
            """.ReplaceLineEndings("\n").TrimEnd(), plan);
    }

    [Fact]
    public void Link_mode_replaces_the_proxy_when_replicas_change()
    {
        var model = Model("link", 3);
        var observed = Builders.Running(Model("link", 2), NginxConfigWriter.Write(Model("link", 2)));
        var plan = Plan(model, observed).Plan.ToString();
        Assert.Contains("create hellostack-proxy: definition changed", plan);
    }

    [Fact]
    public void Switching_from_bridge_to_host_replaces_everything_and_removes_the_network_last()
    {
        var before = Model("bridge", 1);
        var observed = Builders.Running(before, NginxConfigWriter.Write(before));
        var plan = Plan(Model("host", 1), observed).Plan;
        Assert.Contains(plan.Steps, s => s.Kind == StepKind.RetireContainer && s.Cause == "network mode bridge → host");
        var removeNetwork = Assert.Single(plan.Steps, s => s.Kind == StepKind.RemoveNetwork);
        Assert.Equal("hellostack-net", removeNetwork.Resource);
        Assert.Equal(plan.Steps.Count, removeNetwork.Id);
        // Every container removal happens before the network goes (directly or through the steps it waits for).
        var earlier = new HashSet<int>();
        var queue = new Queue<int>(removeNetwork.DependsOn);
        while (queue.TryDequeue(out var id))
            if (earlier.Add(id)) foreach (var d in plan.Steps[id - 1].DependsOn) queue.Enqueue(d);
        Assert.All(plan.Steps.Where(s => s.Kind == StepKind.RemoveContainer), s => Assert.Contains(s.Id, earlier));
    }

}
