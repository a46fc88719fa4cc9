using Docker.DotNet.Models;
using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// StackDeploy on a real single-node swarm of this machine's engine (made a swarm manager by the test, and left as it was
/// found): what stops a deploy before anything changes, a deploy of 3 replicas, a code change rolled out and a 3→5→2 scale
/// under a strict load with no failed request, and a StackDown that removes exactly the stack's services, configs and
/// network. Alone on the machine: it counts failed requests under load.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class SwarmTests(ITestOutputHelper output) : StackTest
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly SampleCopy _sample = new();
    private bool _joinedSwarm;
    private bool _gatewayBridgeExisted;
    private const string GatewayBridge = "docker_gwbridge";
    /// <summary>The password of the stack's PostgreSQL (a StackContainer with a volume), as the deploys pass it.</summary>
    private string _dbPassword = "first-password";

    private Dictionary<string, string> Props(int replicas, int round = 0, params (string Key, string Value)[] more)
    {
        var props = new Dictionary<string, string>
        {
            ["StackName"] = Stack, ["StackHostPort"] = Port.ToString(), ["StackReplicas"] = replicas.ToString(), ["StackTarget"] = "swarm",
            ["StackRegistry"] = Repository.Mirror, ["StackHostAddress"] = "0.0.0.0", ["RedeployRound"] = round.ToString(), ["DbPassword"] = _dbPassword,
            // The whole sample: the API (a StackProject at /api) and Redis (a StackContainer with a volume) as services too.
            ["HelloStackApi"] = "true", ["HelloStackCache"] = "true",
            // The health check's start period: a task that never becomes healthy fails (and its update rolls back) after it.
            ["StackReadyTimeout"] = "20",
        };
        foreach (var (k, v) in more) props[k] = v;
        return props;
    }

    /// <summary>StackDeploy with <paramref name="props"/>, its time in the test's output.</summary>
    private async Task<ProcessResult> Deploy(Dictionary<string, string> props)
    {
        var result = await _sample.BuildAsync("StackDeploy", props);
        output.WriteLine($"StackDeploy {string.Join(" ", props.Where(p => p.Key is "StackReplicas" or "StackRegistry" or "BrokenUrl" or "StackNetworkMode").Select(p => $"{p.Key}={p.Value}"))}: exit {result.ExitCode} in {result.Elapsed.TotalSeconds:0.0} s");
        return result;
    }

    private Task CreateForeignServiceAsync(string name) => Probe.Client.Swarm.CreateServiceAsync(new ServiceCreateParameters
    {
        Service = new ServiceSpec
        {
            Name = name,
            TaskTemplate = new TaskSpec { ContainerSpec = new ContainerSpec { Image = $"{Repository.Mirror}/library/nginx:stable" } },
            Mode = new ServiceMode { Replicated = new ReplicatedService { Replicas = 0 } },
        },
    });

    private async Task<IList<SwarmService>> ServicesAsync() =>
        await Probe.Client.Swarm.ListServicesAsync(new ServiceListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"proxystack.swarm-stack={Stack}"] = true } },
        });

    [DockerFact]
    public async Task A_deploy_rolls_a_code_change_and_scales_with_no_failed_request_and_StackDown_removes_exactly_the_stack()
    {
        _sample.AddToProject("""
              <ItemGroup>
                <StackEnvironment Include="REDEPLOY_ROUND" Value="$(RedeployRound)" />
                <StackEnvironment Include="Kestrel__Endpoints__Broken__Url" Value="$(BrokenUrl)" Condition="'$(BrokenUrl)' != ''" />
                <StackContainer Include="db" Image="postgres:15" Environment="POSTGRES_PASSWORD=$(DbPassword)" Volume="db-data:/var/lib/postgresql/data" Condition="'$(HelloStackCache)' == 'true'" />
              </ItemGroup>
            """);
        var info = await Probe.Client.System.GetSystemInfoAsync();
        if (info.Swarm?.LocalNodeState is not "active")
        {
            // Not a swarm manager: a coded error before anything is built or pushed (no image of the stack exists yet).
            var refused = await Deploy(Props(3));
            Assert.True(refused.ExitCode != 0 && refused.Output.Contains("error STACK3006: The engine at ") && refused.Output.Contains("is not a swarm manager (its swarm state: inactive)"), refused.ToString());
            Assert.Empty(await Probe.ImagesAsync(Stack));
            // Swarm makes its own bridge (docker_gwbridge) on first use, and leaves it behind: the test removes it if it made it.
            _gatewayBridgeExisted = (await Probe.Client.Networks.ListNetworksAsync()).Any(n => n.Name == GatewayBridge);
            await Probe.Client.Swarm.InitSwarmAsync(new SwarmInitParameters { ListenAddr = "127.0.0.1:2377", AdvertiseAddr = "127.0.0.1" });
            _joinedSwarm = true;
        }

        // What stops a deploy before any service exists: no registry, one the engine cannot push to, a network mode Swarm has not.
        var noRegistry = await Deploy(Props(3, more: ("StackRegistry", "")));
        Assert.True(noRegistry.ExitCode != 0 && noRegistry.Output.Contains("error STACK1057: StackDeploy to swarm pushes the app images to a registry every node pulls from, and StackRegistry is empty."), noRegistry.ToString());
        var unreachable = await Deploy(Props(3, more: ("StackRegistry", "127.0.0.1:1")));
        Assert.True(unreachable.ExitCode != 0 && unreachable.Output.Contains($"error STACK2004: The engine could not push 127.0.0.1:1/{Stack}-app:"), unreachable.ToString());
        var host = await Deploy(Props(3, more: [("StackNetworkMode", "host"), ("HelloStackApi", "false"), ("HelloStackCache", "false")]));
        Assert.True(host.ExitCode != 0 && host.Output.Contains("error STACK1055: StackNetworkMode is 'host', which Swarm cannot run"), host.ToString());
        Assert.Empty(await ServicesAsync());

        // A service of someone else's with one of the stack's names: refused (STACK4021) before anything changes. One beside
        // the stack (no label of ours): never touched.
        await CreateForeignServiceAsync($"{Stack}-app");
        var foreign = await Deploy(Props(3));
        Assert.True(foreign.ExitCode != 0 && foreign.Output.Contains($"error STACK4021: A swarm service named '{Stack}-app' exists but does not belong to stack '{Stack}'."), foreign.ToString());
        Assert.Empty(await ServicesAsync());
        await Probe.Client.Swarm.RemoveServiceAsync($"{Stack}-app");
        var bystander = $"{Stack}-bystander";
        await CreateForeignServiceAsync(bystander);
        try
        {
            var up = await Deploy(Props(3));
            Assert.True(up.ExitCode == 0, up.ToString());
            Assert.Contains($"Stack '{Stack}' deployed to the swarm: {Stack}-cache ×1, {Stack}-db ×1, {Stack}-app ×3, {Stack}-api-app ×2, {Stack}-proxy on every node. Listening on port {Port} of every node", up.Output);
            Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
            // Every part through the one nginx: the API at /api, the app calling it by its name (nginx's alias), Redis by its
            // name (a service alias) with its data on a volume, on a manager.
            Assert.Equal("hello from the api\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/api/"));
            Assert.Equal("hello from the api\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/from-api"));
            Assert.Equal("1\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/count"));
            Assert.Equal("2\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/count"));
            var cache = (await ServicesAsync()).Single(s => s.Spec.Name == $"{Stack}-cache");
            Assert.Equal(["node.role == manager"], cache.Spec.TaskTemplate.Placement.Constraints);
            Assert.Equal($"{Stack}-cache-data", cache.Spec.TaskTemplate.ContainerSpec.Mounts.Single().Source);
            var hosts = new HashSet<string>();
            for (var i = 0; i < 30; i++) hosts.Add(await Http.GetStringAsync($"http://127.0.0.1:{Port}/whoami"));
            Assert.Equal(3, hosts.Count);
            var app = (await ServicesAsync()).Single(s => s.Spec.Name == $"{Stack}-app");
            Assert.Equal("start-first", app.Spec.UpdateConfig.Order);
            Assert.Equal("rollback", app.Spec.UpdateConfig.FailureAction);
            Assert.NotNull(app.Spec.TaskTemplate.ContainerSpec.Healthcheck);
            Assert.StartsWith($"{Repository.Mirror}/{Stack}-app:", app.Spec.TaskTemplate.ContainerSpec.Image);

            // The same stack name on this machine's engine beside the swarm stack: StackUp, a rolling redeploy and StackDown of
            // the local stack work on a swarm node (replicas take their slots as aliases there) and never touch the swarm's.
            var local = new Dictionary<string, string>
            {
                ["StackName"] = Stack, ["StackHostPort"] = (Port + 1).ToString(), ["StackReplicas"] = "2", ["RedeployRound"] = "0",
                ["HelloStackApi"] = "false", ["HelloStackCache"] = "false",
            };
            var localUp = await _sample.BuildAsync("StackUp", local);
            Assert.True(localUp.ExitCode == 0 && localUp.Output.Contains("warning STACK3007: The engine at ") && localUp.Output.Contains("is a swarm node"), localUp.ToString());
            var localRedeploy = await _sample.BuildAsync("StackUp", new Dictionary<string, string>(local) { ["RedeployRound"] = "1" });
            Assert.True(localRedeploy.ExitCode == 0 && localRedeploy.Output.Contains("retire"), localRedeploy.ToString());
            // nginx routes by address on a swarm node (its DNS keeps join-time names and answers for removed containers for a
            // while): the redeploy's reload named the new replicas, which both answer.
            var localHosts = new HashSet<string>();
            var settle = DateTime.UtcNow.AddSeconds(20);
            while (localHosts.Count < 2 && DateTime.UtcNow < settle)
            {
                using var answer = await Http.GetAsync($"http://127.0.0.1:{Port + 1}/whoami");
                if (answer.IsSuccessStatusCode) localHosts.Add(await answer.Content.ReadAsStringAsync());
                else await Task.Delay(250);
            }
            Assert.Equal(2, localHosts.Count);
            var localDown = await _sample.BuildAsync("StackDown", local);
            Assert.True(localDown.ExitCode == 0, localDown.ToString());
            Assert.Empty(await Probe.ContainersAsync(Stack));
            Assert.Equal(5, (await ServicesAsync()).Count);
            Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));

            // The same deploy again changes nothing.
            var again = await Deploy(Props(3));
            Assert.True(again.ExitCode == 0 && again.Output.Contains($"{Stack}-app up to date"), again.ToString());

            // A code change rolled out, then 3→5→2, under a load that never retries: not one failed request.
            var load = new StrictLoad($"http://127.0.0.1:{Port}", pacedRate: StrictLoad.BesideASwarmUpdate);
            await using (load)
            {
                await Task.Delay(2000);
                _sample.EditProgram("hello world", "hello swarm");
                // The database's password changed with it, while its volume (on this manager) is kept: the server keeps the
                // old one, which the deploy says, once, as StackUp does.
                _dbPassword = "second-password";
                var rolled = await Deploy(Props(3));
                Assert.True(rolled.ExitCode == 0 && rolled.Output.Contains($"{Stack}-app updated"), rolled.ToString());
                Assert.Contains($"warning STACK1062: StackContainer 'db': POSTGRES_PASSWORD changed since the last StackDeploy, but its volume {Stack}-db-data already holds its data", rolled.Output);
                Assert.Contains("dotnet build -t:StackDown -p:StackRemoveVolumes=true -p:StackTarget=swarm.", rolled.Output);
                Assert.Equal("hello swarm\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
                // The earlier build's pushed tag is gone from this engine (it would keep the old image alive); the new one stays.
                var pushedTags = (await Probe.Client.Images.ListImagesAsync(new ImagesListParameters { All = true }))
                    .SelectMany(i => i.RepoTags ?? []).Where(t => t.StartsWith($"{Repository.Mirror}/{Stack}-app:", StringComparison.Ordinal)).ToList();
                Assert.Single(pushedTags);
                var five = await Deploy(Props(5));
                Assert.True(five.ExitCode == 0, five.ToString());
                Assert.DoesNotContain("STACK1062", five.Output);
                var two = await Deploy(Props(2));
                Assert.True(two.ExitCode == 0, two.ToString());
                await Task.Delay(2000);
                var wrk = await load.StopAsync();
                output.WriteLine(load.Report());
                Assert.True(wrk.Non2xx == 0 && wrk.SocketErrors == 0 && load.PostFailures.Count == 0 && load.Posts > 0, load.Report());
                Assert.True(wrk.RequestsPerSecond >= 200, $"{wrk.RequestsPerSecond:0} requests/s: the load was too light to prove anything");
            }
            var tasks = await Probe.Client.Tasks.ListAsync(new TasksListParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["service"] = new Dictionary<string, bool> { [$"{Stack}-app"] = true }, ["desired-state"] = new Dictionary<string, bool> { ["running"] = true } },
            });
            Assert.Equal(2, tasks.Count);

            // Swarm moves a service's version for its own bookkeeping too (moby/swarmkit#1379), so an update sent with a version
            // read a moment before may be refused "update out of sequence", as `docker stack deploy` sometimes is. The adapter
            // reads the service again and sends the update again: here with the version read before the rollout above.
            using (var engine = new ProxyStack.Engine.DockerEngine())
            {
                var current = (await ServicesAsync()).Single(s => s.Spec.Name == $"{Stack}-app");
                Assert.NotEqual(app.Version.Index, current.Version.Index);
                await engine.UpdateServiceAsync(app, current.Spec, CancellationToken.None);
            }

            // An update whose tasks fail (Kestrel refuses the port it is given and the app exits): Swarm rolls it back, the deploy says so,
            // and the replicas that were serving serve on.
            var broken = await Deploy(Props(2, more: ("BrokenUrl", "http://127.0.0.1:99999")));
            Assert.True(broken.ExitCode != 0 && broken.Output.Contains($"error STACK4020: Swarm service {Stack}-app did not converge: the update rollback"), broken.ToString());
            Assert.Equal("hello swarm\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
            var fixedAgain = await Deploy(Props(2));
            Assert.True(fixedAgain.ExitCode == 0, fixedAgain.ToString());

            var down = await _sample.BuildAsync("StackDown", new Dictionary<string, string> { ["StackName"] = Stack, ["StackTarget"] = "swarm" });
            Assert.True(down.ExitCode == 0, down.ToString());
            output.WriteLine($"StackDown: {down.Elapsed.TotalSeconds:0.0} s");
            Assert.Empty(await ServicesAsync());
            Assert.DoesNotContain(await Probe.Client.Configs.ListConfigsAsync(), c => c.Spec.Labels?.ContainsKey("proxystack.swarm-stack") == true && c.Spec.Labels["proxystack.swarm-stack"] == Stack);
            Assert.DoesNotContain(await Probe.Client.Networks.ListNetworksAsync(), n => n.Name == $"{Stack}-swarm");
            Assert.NotNull(await Probe.Client.Swarm.InspectServiceAsync(bystander));
            // Redis's volume stays for the next deploy, as StackDown's does on this machine; the test's cleanup removes it.
            Assert.Single((await Probe.Client.Volumes.ListAsync(new VolumesListParameters())).Volumes, v => v.Name == $"{Stack}-cache-data");
        }
        finally
        {
            await Probe.Client.Swarm.RemoveServiceAsync(bystander);
        }
    }

    protected override void DisposeMore()
    {
        try
        {
            using var engine = new ProxyStack.Engine.DockerEngine();
            new ProxyStack.Execution.SwarmDeployer(engine, new NullStackLog()).RemoveAsync(Stack, removeVolumes: true, CancellationToken.None).GetAwaiter().GetResult();
            // The services the test made as someone else's, if a failure left them.
            foreach (var name in new[] { $"{Stack}-app", $"{Stack}-bystander" })
                engine.RemoveServiceAsync(name, CancellationToken.None).GetAwaiter().GetResult();
            // The stack's images, which the safety net could not remove while a failure left swarm tasks running on them.
            using var probe = new StackProbe();
            probe.CleanAsync(Stack).GetAwaiter().GetResult();
        }
        finally
        {
            // The app images StackDeploy pushed to the local registry, then the swarm and the copy, each even if one before fails.
            try { RegistryCleanup.RemoveStackAsync(Repository.Mirror, Stack).GetAwaiter().GetResult(); }
            finally
            {
                try { LeaveSwarm(); }
                finally { _sample.Dispose(); }
            }
        }
    }

    /// <summary>Leaves the swarm the test made (its gateway bridge with it), so the engine is as the test found it.</summary>
    private void LeaveSwarm()
    {
        if (!_joinedSwarm) return;
        using var probe = new StackProbe();
        probe.Client.Swarm.LeaveSwarmAsync(new SwarmLeaveParameters { Force = true }).GetAwaiter().GetResult();
        if (_gatewayBridgeExisted) return;
        // The engine lets go of the bridge's endpoints (the ingress sandbox's, the tasks') after the leave returns: seen once
        // under the full suite's load as "has active endpoints", and once (2026-12-07, a full run) still after 30 s, the
        // bridge empty when looked at a minute later. Asked again for up to 90 s; past that, the failure names what held it.
        var patience = TimeSpan.FromSeconds(90);
        for (var deadline = DateTime.UtcNow + patience; ; Thread.Sleep(500))
        {
            try
            {
                probe.Client.Networks.DeleteNetworkAsync(GatewayBridge).GetAwaiter().GetResult();
                return;
            }
            catch (Docker.DotNet.DockerApiException e) when (e.Message.Contains("active endpoints", StringComparison.Ordinal))
            {
                if (DateTime.UtcNow < deadline) continue;
                var held = probe.Client.Networks.InspectNetworkAsync(GatewayBridge).GetAwaiter().GetResult().Containers ?? new Dictionary<string, EndpointResource>();
                throw new InvalidOperationException($"{GatewayBridge} still has endpoints {patience.TotalSeconds} s after leaving the swarm: "
                    + string.Join(", ", held.Select(c => $"{c.Value.Name} ({c.Key[..Math.Min(12, c.Key.Length)]})")), e);
            }
        }
    }
}
