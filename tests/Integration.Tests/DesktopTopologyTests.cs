using System.Net.Sockets;
using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// Puts the machine's engine into Docker Desktop's topology for the tests of one class — dockerd without its userland proxy,
/// and a REJECT rule for host-originated traffic to container addresses (172.16.0.0/12) that is not DNAT'ed: ports published
/// on 127.0.0.1 work, container addresses do not — through build/provision.sh (PROXYSTACK_TOPOLOGY=desktop), and restores the
/// default afterwards, also when a test failed. A killed run is restored by the next plain provision.
/// </summary>
public sealed class DesktopTopology : IDisposable
{
    /// <summary>The engine's second socket in this topology (build/provision.sh), reached through a docker context.</summary>
    public const string Socket = "/run/proxystack/desktop.sock";
    /// <summary>A CLI config folder of the tests' own, whose current context points at <see cref="Socket"/>: the user's is never touched.</summary>
    public string DockerConfig { get; } = Directory.CreateTempSubdirectory("proxystack-docker-config-").FullName;
    public string Context { get; } = "pst-desktop-" + Guid.NewGuid().ToString("N")[..6];

    public DesktopTopology()
    {
        Provision("desktop");
        Docker("context", "create", Context, "--docker", $"host=unix://{Socket}");
        Docker("context", "use", Context);
    }

    public void Dispose()
    {
        try { Provision("linux"); }
        finally { Directory.Delete(DockerConfig, recursive: true); }
    }

    /// <summary>The docker CLI on the tests' own config folder (contexts are made as a user makes them).</summary>
    private void Docker(params string[] args)
    {
        var result = Cli.RunAsync(new System.Diagnostics.ProcessStartInfo("docker", ["--config", DockerConfig, .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        }, TimeSpan.FromMinutes(1)).GetAwaiter().GetResult();
        if (result.ExitCode != 0) throw new InvalidOperationException($"docker {string.Join(' ', args)} failed:\n{result}");
    }

    private static void Provision(string topology)
    {
        var result = Cli.RunAsync(new System.Diagnostics.ProcessStartInfo("bash", [Repository.File("build", "provision.sh")])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, Environment = { ["PROXYSTACK_TOPOLOGY"] = topology },
        }, TimeSpan.FromMinutes(3)).GetAwaiter().GetResult();
        if (result.ExitCode != 0) throw new InvalidOperationException($"provision.sh ({topology} topology) failed:\n{result}");
    }
}

/// <summary>
/// The core scenarios where the host cannot reach container addresses (Docker Desktop, Podman machines, Colima, OrbStack):
/// readiness goes through the probe relay, everything else through the engine and the proxy's published port.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class DesktopTopologyTests(SharedSample shared, DesktopTopology topology, ITestOutputHelper output) : StackTest, IClassFixture<DesktopTopology>
{
    /// <summary>Held so that the fixture is the reason this class exists: every test here runs inside its topology.</summary>
    private readonly DesktopTopology _topology = topology;

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    /// <summary>Every build and run here finds the engine through the context, as on Docker Desktop.</summary>
    private Dictionary<string, string> Env => new() { ["DOCKER_CONFIG"] = _topology.DockerConfig };

    private Dictionary<string, string> Props(int replicas, int round = 0) => new()
    {
        ["StackName"] = Stack, ["StackHostPort"] = Port.ToString(), ["StackReplicas"] = replicas.ToString(), ["RedeployRound"] = round.ToString(),
        ["HelloStackCache"] = "true",
    };

    /// <summary>The fixture took: a container's address refuses the host, while the same stack answers on its published port.</summary>
    private async Task AssertHostCannotReachAsync(string container)
    {
        var address = (await Probe.InspectAsync(container)).NetworkSettings.Networks.Values.First().IPAddress;
        using var tcp = new TcpClient();
        var connect = tcp.ConnectAsync(address, 8080);
        var finished = await Task.WhenAny(connect, Task.Delay(3000));
        Assert.False(finished == connect && connect.IsCompletedSuccessfully, $"the host reached {container} at {address}: the topology is not in effect");
    }

    [DockerFact]
    public async Task Bring_up_scale_redeploy_status_and_teardown_work_when_the_host_cannot_reach_container_addresses()
    {
        using var sample = new SampleCopy();
        sample.AddToProject("""  <ItemGroup><StackEnvironment Include="REDEPLOY_ROUND" Value="$(RedeployRound)" /></ItemGroup>""");
        var up = await sample.BuildAsync("StackUp", Props(3), Env, verbosity: "d");
        Assert.True(up.ExitCode == 0, up.ToString());
        // Every replica was found ready through the relay: the host's own requests to their addresses are refused here.
        for (var n = 1; n <= 3; n++) Assert.Matches($@"{Stack}-app-{n}\S* ready: GET http://\S+ -> HTTP 200 OK \(through the probe relay\)", up.Output);
        await AssertHostCannotReachAsync($"{Stack}-app-1");
        var hosts = new HashSet<string>();
        for (var i = 0; i < 30; i++) hosts.Add(await Http.GetStringAsync($"http://127.0.0.1:{Port}/whoami"));
        Assert.Equal(3, hosts.Count);
        // The sample's Redis (a StackContainer) was found ready from inside its container, which needs no route either.
        Assert.Contains($"{Stack}-cache ready (tcp)", up.Output);
        for (var i = 1; i <= 3; i++) Assert.Equal($"{i}\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/count"));

        var status = await sample.BuildAsync("StackStatus", Props(3), Env);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains($"Engine: unix://{DesktopTopology.Socket} (context '{_topology.Context}' (currentContext in {_topology.DockerConfig}/config.json))", status.Output);
        for (var n = 1; n <= 3; n++) Assert.Matches($@"{Stack}-app-{n}\s+app\s+running\s+yes", status.Output);
        Assert.Matches($@"{Stack}-proxy\s+proxy\s+running\s+yes", status.Output);

        await RedeployAndScaleToTwoUnderLoadAsync(sample, Props, Env, output);
        Assert.Equal(4, (await Probe.ContainersAsync(Stack)).Count);

        var down = await sample.BuildAsync("StackDown", Props(2), Env);
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }

    [DockerFact]
    public async Task Dotnet_run_comes_up_and_ctrl_c_leaves_nothing_when_the_host_cannot_reach_container_addresses()
    {
        using var run = RunningProcess.Start(Cli.Dotnet(shared.Sample.Directory,
            ["run", "--project", shared.Sample.ProjectFile, $"-p:StackName={Stack}", $"-p:StackHostPort={Port}", "-p:StackReplicas=2"],
            new Dictionary<string, string>(Env) { ["StackRegistryMirror"] = Repository.Mirror }));
        Assert.True(await run.WaitForOutputAsync("press Ctrl-C to stop", TimeSpan.FromMinutes(3)), run.Output);
        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        await AssertHostCannotReachAsync($"{Stack}-app-2");
        Cli.SignalGroup(run.Id, Cli.SIGINT);
        var exit = await run.WaitForExitAsync(TimeSpan.FromSeconds(90));
        Assert.True(exit == 0, $"exit {exit}\n{run.Output}");
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }
}
