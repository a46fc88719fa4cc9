using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// The core scenarios on Podman (rootful, through its Docker-compatible service at <see cref="Socket"/>, netavark with
/// aardvark-dns; build/provision.sh sets it up), with the app image loaded by the SDK's LocalRegistry=Podman. Podman's DNS
/// keeps a container's join-time names, so replicas take their slot names there as network aliases (PlanExecutor's join).
/// Every observation goes to Podman, not to the Docker engine beside it.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class PodmanTests(SharedSample shared, ITestOutputHelper output) : StackTest
{
    public const string Socket = "/run/podman/podman.sock";
    protected override string? EngineEndpoint => "unix://" + Socket;

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>
    /// For /count, where the app itself looks its Redis up by name on every request. A Podman container's resolv.conf lists
    /// aardvark-dns and then the host's own server, and aardvark-dns drops questions while it reloads (how-it-works.md, "On
    /// Podman"): glibc then waits its 5 s for each server in turn, and the lookup succeeds on the next round, about 10 s
    /// later (seen once in a full run, 2026-12-01 22:41, right after the scale-down, while every GET through nginx answered).
    /// That is the app's own name lookup on this engine, not a request nginx failed, so it gets the time to finish.
    /// </summary>
    private static readonly HttpClient AppLookupHttp = new() { Timeout = TimeSpan.FromSeconds(30) };
    private Dictionary<string, string> Env => new() { ["DOCKER_HOST"] = EngineEndpoint! };

    private Dictionary<string, string> Props(int replicas, int round = 0) => new()
    {
        ["StackName"] = Stack, ["StackHostPort"] = Port.ToString(), ["StackReplicas"] = replicas.ToString(),
        ["RedeployRound"] = round.ToString(), ["LocalRegistry"] = "Podman", ["HelloStackCache"] = "true",
    };

    /// <summary>The replicas' names as the engine's DNS answers them in the proxy, one address per slot.</summary>
    private Task<string> ResolveInProxyAsync(int replicas) => ExecInProxyAsync(["getent", "hosts", .. Enumerable.Range(1, replicas).Select(n => $"{Stack}-app-{n}")]);

    /// <summary>A command's output (stdout, then stderr) in the stack's proxy.</summary>
    private async Task<string> ExecInProxyAsync(params string[] command)
    {
        var exec = await Probe.Client.Exec.CreateContainerExecAsync($"{Stack}-proxy", new Docker.DotNet.Models.ContainerExecCreateParameters
        {
            Cmd = command, AttachStdout = true, AttachStderr = true,
        });
        using var stream = await Probe.Client.Exec.StartContainerExecAsync(exec.ID, new Docker.DotNet.Models.ContainerExecStartParameters());
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(CancellationToken.None);
        return stdout + stderr;
    }

    [DockerFact]
    public async Task Bring_up_scale_redeploy_status_and_teardown_work_on_podman()
    {
        using var sample = new SampleCopy();
        sample.AddToProject("""  <ItemGroup><StackEnvironment Include="REDEPLOY_ROUND" Value="$(RedeployRound)" /></ItemGroup>""");
        var up = await sample.BuildAsync("StackUp", Props(3), Env);
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains("to local registry via 'podman'", up.Output);
        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        var hosts = new HashSet<string>();
        for (var i = 0; i < 30; i++) hosts.Add(await Http.GetStringAsync($"http://127.0.0.1:{Port}/whoami"));
        Assert.Equal(3, hosts.Count);
        // The sample's Redis (a StackContainer) came up first, by its alias on Podman's network, ready by its socket table.
        for (var i = 1; i <= 3; i++) Assert.Equal($"{i}\n", await AppLookupHttp.GetStringAsync($"http://127.0.0.1:{Port}/count"));
        // The stack is Podman's: the Docker engine beside it has none of it.
        using (var docker = new StackProbe()) Assert.Empty(await docker.ContainersAsync(Stack));

        var status = await sample.BuildAsync("StackStatus", Props(3), Env);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains($"Engine: unix://{Socket} (DOCKER_HOST)", status.Output);
        for (var n = 1; n <= 3; n++) Assert.Matches($@"{Stack}-app-{n}\s+app\s+running\s+yes", status.Output);
        Assert.Matches($@"{Stack}-cache\s+service\s+running\s+yes", status.Output);

        await RedeployAndScaleToTwoUnderLoadAsync(sample, Props, Env, output, slotsByAlias: true);
        // Each slot resolves to its current replica alone, and the slot scaled away to nothing: the replaced and surplus
        // replicas left DNS when they stopped.
        var resolved = (await ResolveInProxyAsync(3)).Split('\n');
        for (var n = 1; n <= 2; n++)
        {
            var address = (await Probe.InspectAsync($"{Stack}-app-{n}")).NetworkSettings.Networks[$"{Stack}-net"].IPAddress;
            Assert.Equal([address], resolved.Where(l => l.Contains($" {Stack}-app-{n}.", StringComparison.Ordinal)).Select(l => l.Split(' ')[0]).Distinct());
        }
        Assert.DoesNotContain(resolved, l => l.Contains($" {Stack}-app-3.", StringComparison.Ordinal));
        // nginx routes by address here: its live config lists exactly the two serving replicas' addresses.
        var live = await ExecInProxyAsync("cat", "/run/proxystack/nginx.conf");
        Assert.StartsWith("# Routed by address", live);
        var routed = System.Text.RegularExpressions.Regex.Matches(live, @"server (\S+):8080 max_fails=\d+ fail_timeout=\d+s; # (\S+)").Select(m => (m.Groups[2].Value, m.Groups[1].Value)).ToList();
        var expected = new List<(string, string)>();
        for (var n = 1; n <= 2; n++) expected.Add(($"{Stack}-app-{n}", (await Probe.InspectAsync($"{Stack}-app-{n}")).NetworkSettings.Networks[$"{Stack}-net"].IPAddress));
        Assert.Equal(expected, routed);
        // The proxy holds what the planner renders from the observed addresses: the same StackUp again changes nothing.
        var again = await sample.BuildAsync("StackUp", Props(2, 1), Env);
        Assert.True(again.ExitCode == 0 && again.Output.Contains($"Stack '{Stack}' is up to date"), again.ToString());

        // A crashed replica (its process SIGKILLed from outside the engine) comes back by the restart policy with the address
        // nginx holds, and serves again within 10 s.
        var victim = $"{Stack}-app-1";
        Cli.Signal((int)(await Probe.InspectAsync(victim)).State.Pid, 9);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var seen = new HashSet<string>();
        while (clock.Elapsed < TimeSpan.FromSeconds(10) && seen.Count < 2)
        {
            await Task.Delay(500);
            seen.Clear();
            for (var i = 0; i < 50; i++)
                try { seen.Add(await Http.GetStringAsync($"http://127.0.0.1:{Port}/whoami")); }
                catch (HttpRequestException) { }
        }
        var back = await Probe.InspectAsync(victim);
        Assert.True(back.RestartCount > 0, "the killed replica was not restarted");
        Assert.Equal(expected[0].Item2, back.NetworkSettings.Networks[$"{Stack}-net"].IPAddress);
        Assert.True(seen.Count == 2, $"after {clock.Elapsed.TotalSeconds:0.0} s 50 requests reached {string.Join(", ", seen)}");
        hosts.Clear();
        for (var i = 0; i < 30; i++) hosts.Add(await Http.GetStringAsync($"http://127.0.0.1:{Port}/whoami"));
        Assert.Equal(2, hosts.Count);
        Assert.Equal(4, (await Probe.ContainersAsync(Stack)).Count);
        Assert.Equal("4\n", await AppLookupHttp.GetStringAsync($"http://127.0.0.1:{Port}/count"));

        var down = await sample.BuildAsync("StackDown", Props(3), Env);
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }

    [DockerFact]
    public async Task Dotnet_run_comes_up_and_ctrl_c_leaves_nothing_on_podman()
    {
        using var run = RunningProcess.Start(Cli.Dotnet(shared.Sample.Directory,
            ["run", "--project", shared.Sample.ProjectFile, $"-p:StackName={Stack}", $"-p:StackHostPort={Port}", "-p:StackReplicas=2", "-p:LocalRegistry=Podman"],
            new Dictionary<string, string>(Env) { ["StackRegistryMirror"] = Repository.Mirror }));
        Assert.True(await run.WaitForOutputAsync("press Ctrl-C to stop", TimeSpan.FromMinutes(3)), run.Output);
        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        Assert.Equal(3, (await Probe.ContainersAsync(Stack)).Count);
        Cli.SignalGroup(run.Id, Cli.SIGINT);
        var exit = await run.WaitForExitAsync(TimeSpan.FromSeconds(90));
        Assert.True(exit == 0, $"exit {exit}\n{run.Output}");
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }
}
