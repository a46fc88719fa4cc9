using Docker.DotNet.Models;
using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// Against the real engine: ProxyStack never touches a container it did not create, never lets one checkout replace another's
/// stack, never takes down the proxy that serves for a change that fails, and keeps only replicas proven ready now.
/// </summary>
[Collection(StacksCollection.Name)]
public sealed class TrustTests(SharedSample shared, ITestOutputHelper output) : StackTest
{
    private string Url => $"http://127.0.0.1:{Port}/";

    /// <summary>
    /// An app image someone tagged (<c>docker tag</c>, to keep a build they liked) is theirs: after a code change StackUp removes
    /// the image its replicas no longer use only when no tag names it any more. A removal by id would take a tag of the
    /// stack's own repository with it (seen before this rule: <c>hellostack:good</c> gone after the next edit).
    /// </summary>
    [DockerFact]
    public async Task A_replaced_app_image_someone_tagged_is_kept_and_an_untagged_one_is_removed()
    {
        using var sample = new SampleCopy();
        await UpAsync(sample, StackProps(1));
        var first = (await Probe.InspectAsync($"{Stack}-app-1")).Image;
        await Probe.Client.Images.TagImageAsync(first, new ImageTagParameters { RepositoryName = Stack, Tag = "good" });

        sample.EditProgram("hello world", "hello v2");
        var second = await sample.BuildAsync("StackUp", StackProps(1), verbosity: "d");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains($"kept image {first}: tagged {Stack}:good, not by this build", second.Output);
        var secondId = (await Probe.InspectAsync($"{Stack}-app-1")).Image;
        Assert.NotEqual(first, secondId);
        Assert.Contains($"{Stack}:good", (await Probe.Client.Images.InspectImageAsync(first)).RepoTags);

        // Nobody tagged the second build: the next change removes it.
        sample.EditProgram("hello v2", "hello v3");
        await UpAsync(sample, StackProps(1));
        await Assert.ThrowsAsync<Docker.DotNet.DockerImageNotFoundException>(() => Probe.Client.Images.InspectImageAsync(secondId));
        using var http = new HttpClient();
        Assert.Equal("hello v3\n", await http.GetStringAsync(Url));
        Assert.Contains($"{Stack}:good", (await Probe.Client.Images.InspectImageAsync(first)).RepoTags);
    }

    /// <summary>
    /// An image someone else made under the name the stack's image would take (<c>docker build -t hellostack .</c>, or another
    /// tool's) is theirs: PublishContainer would move its tag onto the stack's development image, and their next
    /// <c>docker push</c> would push that. StackUp refuses before it builds anything (STACK2005) and leaves the tag where it was;
    /// with ContainerRepository set aside, the stack comes up beside it.
    /// </summary>
    [DockerFact]
    public async Task An_image_tag_someone_else_holds_is_STACK2005_before_anything_is_built_and_stays_theirs()
    {
        // Made by an import of an empty file system: an image with no labels at all, as one built from a Dockerfile has none of ours.
        using (var empty = new MemoryStream(new byte[10240]))
            await Probe.Client.Images.CreateImageAsync(new ImagesCreateParameters { FromSrc = "-", Repo = Stack, Tag = "latest" },
                empty, null, new Progress<JSONMessage>());
        var theirs = (await Probe.Client.Images.InspectImageAsync($"{Stack}:latest")).ID;
        try
        {
            var refused = await shared.Sample.BuildAsync("StackUp", StackProps(1));
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains($"error STACK2005: The tag {Stack}:latest names image {theirs[..19]}, and it was not built by ProxyStack", refused.Output);
            Assert.DoesNotContain("Building image", refused.Output);
            Assert.Equal(theirs, (await Probe.Client.Images.InspectImageAsync($"{Stack}:latest")).ID);
            Assert.Empty(await Probe.ContainersAsync(Stack));
            Assert.Empty(await Probe.ImagesAsync(Stack));

            await UpAsync(shared.Sample, StackProps(1, ("ContainerRepository", $"{Stack}-own")));
            using var http = new HttpClient();
            Assert.Equal("hello world\n", await http.GetStringAsync(Url));
            Assert.Equal(theirs, (await Probe.Client.Images.InspectImageAsync($"{Stack}:latest")).ID);
            Assert.Contains(await Probe.ImagesAsync(Stack), i => i.RepoTags?.Contains($"{Stack}-own:latest") == true);
        }
        finally
        {
            // The test's own image, whatever happened to its tag.
            try { await Probe.Client.Images.DeleteImageAsync(theirs, new ImageDeleteParameters { Force = true }); }
            catch (Docker.DotNet.DockerImageNotFoundException) { }
        }
    }

    /// <summary>
    /// The proxy image is rebuilt for every changed nginx.conf (it is baked in), and the running proxy, reloaded in place, keeps
    /// the image it was made from: a superseded image nothing uses is removed by the next build, the one the proxy ran goes
    /// with that proxy — a day of tweaking settings leaves no nameless images behind.
    /// </summary>
    [DockerFact]
    public async Task Proxy_images_superseded_by_config_changes_are_removed_once_nothing_runs_them()
    {
        async Task<List<string>> NamelessAsync() => (await Probe.ImagesAsync(Stack))
            .Where(i => i.RepoTags is null || i.RepoTags.All(t => t == "<none>:<none>")).Select(i => i.ID).Order().ToList();
        await UpAsync(shared.Sample, StackProps(1));
        var first = (await Probe.InspectAsync($"{Stack}-proxy")).Image;
        await UpAsync(shared.Sample, StackProps(1, ("StackMaxRequestBodySize", "1000000")));
        await UpAsync(shared.Sample, StackProps(1, ("StackMaxRequestBodySize", "2000000")));
        // Three builds: the first still runs the proxy (reloaded in place twice), the second went with the third's build.
        Assert.Equal(first, (await Probe.InspectAsync($"{Stack}-proxy")).Image);
        Assert.Equal([first], await NamelessAsync());

        // The proxy stopped by hand is recreated from the current image, and the one it ran goes after it.
        await Probe.Client.Containers.StopContainerAsync($"{Stack}-proxy", new ContainerStopParameters { WaitBeforeKillSeconds = 5 });
        await UpAsync(shared.Sample, StackProps(1, ("StackMaxRequestBodySize", "2000000")));
        Assert.NotEqual(first, (await Probe.InspectAsync($"{Stack}-proxy")).Image);
        Assert.Empty(await NamelessAsync());
        using var http = new HttpClient();
        Assert.Equal("hello world\n", await http.GetStringAsync(Url));

        // Changed once more (reloaded in place: the proxy runs a superseded image), then StackDown: that image goes with the
        // proxy; the current one stays for the next StackUp, as StackDown leaves images.
        await UpAsync(shared.Sample, StackProps(1, ("StackMaxRequestBodySize", "3000000")));
        Assert.Single(await NamelessAsync());
        var down = await shared.Sample.BuildAsync("StackDown", StackProps(1));
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Empty(await NamelessAsync());
        Assert.Contains(await Probe.ImagesAsync(Stack), i => i.RepoTags?.Contains($"proxystack/{Stack}-proxy:latest") == true);
    }

    /// <summary>Starts a container from the stack's app image by hand, as a user would with docker run.</summary>
    private async Task<string> RunByHandAsync(string name)
    {
        var created = await Probe.Client.Containers.CreateContainerAsync(new CreateContainerParameters { Name = name, Image = $"{Stack}:latest" });
        await Probe.Client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
        return created.ID;
    }

    private async Task RemoveByHandAsync(string id)
    {
        try { await Probe.Client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true }); }
        catch (Docker.DotNet.DockerContainerNotFoundException) { }
    }

    [DockerFact]
    public async Task A_container_run_by_hand_from_the_app_image_survives_StackUp_scaling_and_StackDown()
    {
        await UpAsync(shared.Sample, StackProps(1));
        var bystander = await RunByHandAsync($"{Stack}-bystander");
        var lookalike = "";
        try
        {
            // Ownership never comes from the image: the bystander carries the image's labels only.
            var labels = (await Probe.InspectAsync(bystander)).Config.Labels;
            Assert.Equal(Stack, labels["proxystack.image-of"]);
            Assert.False(labels.ContainsKey("proxystack.stack"));

            await UpAsync(shared.Sample, StackProps(2));
            // A hand-made container holding the next replica's name stops the scale-up, and is left exactly as it was.
            lookalike = await RunByHandAsync($"{Stack}-app-3");
            var refused = await shared.Sample.BuildAsync("StackUp", StackProps(3));
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains($"error STACK4001: A container named '{Stack}-app-3' exists but does not belong to stack '{Stack}'", refused.Output);
            Assert.True((await Probe.InspectAsync(lookalike)).State.Running);

            var down = await shared.Sample.BuildAsync("StackDown", StackProps(2));
            Assert.True(down.ExitCode == 0, down.ToString());
            Assert.Contains($"Stack '{Stack}': removed 4 resource(s).", down.Output);
            Assert.True((await Probe.InspectAsync(bystander)).State.Running);
            Assert.True((await Probe.InspectAsync(lookalike)).State.Running);
        }
        finally
        {
            await RemoveByHandAsync(bystander);
            if (lookalike.Length > 0) await RemoveByHandAsync(lookalike);
        }
    }

    [DockerFact]
    public async Task A_second_checkout_of_the_same_stack_is_refused_until_it_adopts_it()
    {
        using var other = new SampleCopy();
        await UpAsync(shared.Sample, StackProps(1));
        var before = await Probe.SnapshotAsync(Stack);

        var up = await other.BuildAsync("StackUp", StackProps(1));
        Assert.NotEqual(0, up.ExitCode);
        Assert.Contains($"error STACK4012: Stack '{Stack}' belongs to another checkout", up.Output);
        Assert.Contains(shared.Sample.Directory, up.Output);
        var down = await other.BuildAsync("StackDown", StackProps(1));
        Assert.NotEqual(0, down.ExitCode);
        Assert.Contains("error STACK4012", down.Output);
        Assert.Equal(before, await Probe.SnapshotAsync(Stack));

        await UpAsync(other, StackProps(1, ("StackAdopt", "true")));
        var owners = (await Probe.ContainersAsync(Stack)).Select(c => c.Labels["proxystack.owner"]).Distinct();
        Assert.Equal([$"{Environment.MachineName}:{other.Directory}"], owners);
        using var http = new HttpClient();
        Assert.Equal("hello world\n", await http.GetStringAsync(Url));

        // Down in the adopting checkout, its key ring stays: the first checkout's bring-up is refused for it, and told the
        // command that removes it there (a StackDown alone would not).
        var down2 = await other.BuildAsync("StackDown", StackProps(1));
        Assert.True(down2.ExitCode == 0, down2.ToString());
        var refused = await shared.Sample.BuildAsync("StackUp", StackProps(1));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains($"error STACK4022: Stack '{Stack}': its volume(s) {Stack}-keys belong to another checkout ('{Environment.MachineName}:{other.Directory}')", refused.Output);
        Assert.Contains("(dotnet build -t:StackDown -p:StackRemoveVolumes=true there)", refused.Output);
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Equal($"{Environment.MachineName}:{other.Directory}", Assert.Single(await Probe.VolumesAsync(Stack)).Labels["proxystack.owner"]);
    }

    [DockerFact]
    public async Task A_new_host_port_that_is_taken_leaves_the_old_proxy_serving_and_a_free_one_moves_it_without_a_gap()
    {
        await UpAsync(shared.Sample, StackProps(2));
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((System.Net.IPEndPoint)squatter.LocalEndpoint).Port;
        var before = await Probe.SnapshotAsync(Stack);

        var refused = await shared.Sample.BuildAsync("StackUp", StackProps(2, ("StackHostPort", taken.ToString())));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains($"error STACK4003: StackHostPort {taken} on 127.0.0.1 is already in use", refused.Output);
        Assert.Equal(before, await Probe.SnapshotAsync(Stack));
        using var http = new HttpClient();
        Assert.Equal("hello world\n", await http.GetStringAsync(Url));

        // A free port: the new proxy starts beside the old one, which keeps serving until the new one answers.
        var free = Ports.Free();
        await using (var load = new LoadGenerator(Url))
        {
            await UpAsync(shared.Sample, StackProps(2, ("StackHostPort", free.ToString())));
            await load.StopAsync();
            output.WriteLine(load.Report());
            // Requests to the old port were all answered while it was there (they end when it is removed, after the drain).
            Assert.True(load.Non2xx == 0, load.Report());
        }
        Assert.Equal("hello world\n", await http.GetStringAsync($"http://127.0.0.1:{free}/"));
        var after = await Probe.SnapshotAsync(Stack);
        Assert.Equal(before[$"{Stack}-app-1"], after[$"{Stack}-app-1"]);
        Assert.Equal(3, after.Count);
    }

    [DockerFact]
    public async Task A_new_health_path_reprobes_every_replica_and_a_failing_one_leaves_the_stack_as_it_was()
    {
        await UpAsync(shared.Sample, StackProps(2));
        var before = await Probe.SnapshotAsync(Stack);

        var nope = await shared.Sample.BuildAsync("StackUp", StackProps(2, ("StackHealthPath", "/nope"), ("StackReadyTimeout", "5")));
        Assert.NotEqual(0, nope.ExitCode);
        Assert.Contains("error STACK4004", nope.Output);
        // Asked directly or through the probe relay (which the answer then names): the route is not this test's business.
        Assert.Contains("not ready (GET /nope → HTTP 404 NotFound", nope.Output);
        Assert.Contains("Everything this bring-up created was removed and the stack is as it was.", nope.Output);
        Assert.Equal(before.ToDictionary(kv => kv.Key, kv => kv.Value.Id), (await Probe.SnapshotAsync(Stack)).ToDictionary(kv => kv.Key, kv => kv.Value.Id));
        using var http = new HttpClient();
        Assert.Equal("hello world\n", await http.GetStringAsync(Url));

        // A path every replica passes: re-probed, kept, nothing replaced.
        var whoami = await UpAsync(shared.Sample, StackProps(2, ("StackHealthPath", "/whoami")));
        Assert.Contains($"Stack '{Stack}' is up to date.", whoami.Output);
        Assert.Contains($"keep {Stack}-app-1: unchanged, ready", whoami.Output);
        Assert.Equal(before, await Probe.SnapshotAsync(Stack));
    }

    [DockerFact]
    public async Task Every_container_is_hardened()
    {
        await UpAsync(shared.Sample, StackProps(1));
        foreach (var c in await Probe.ContainersAsync(Stack))
        {
            var host = (await Probe.InspectAsync(c.ID)).HostConfig;
            Assert.Equal(["ALL"], host.CapDrop);
            Assert.Contains("no-new-privileges:true", host.SecurityOpt);
            Assert.True(host.PidsLimit > 0);
            Assert.Equal("json-file", host.LogConfig.Type);
            Assert.Equal("10m", host.LogConfig.Config["max-size"]);
            // Deployed by id: a tag moved by a concurrent build cannot change what runs.
            Assert.StartsWith("sha256:", (await Probe.InspectAsync(c.ID)).Config.Image);
            if (c.Labels["proxystack.role"] == "proxy")
            {
                Assert.True(host.ReadonlyRootfs);
                Assert.Equal(["/run/proxystack", "/tmp"], host.Tmpfs.Keys.Order());
                // Owned by nginx's user, not world-writable (and so still writable by it after an engine restart: FaultTests).
                Assert.All(host.Tmpfs.Values, o => Assert.Contains("uid=65534,gid=65534,mode=0700", o));
            }
        }
        // A reload still works on the read-only root: a config change (with a scale-up) rewrites the config through the tmpfs.
        var scaled = await UpAsync(shared.Sample, StackProps(2, ("StackMaxRequestBodySize", "20000000")));
        Assert.Contains($"reload {Stack}-proxy", scaled.Output);
        using var http = new HttpClient();
        var seen = new HashSet<string>();
        for (var i = 0; i < 20; i++) seen.Add(await http.GetStringAsync(Url + "whoami"));
        Assert.Equal(2, seen.Count);
    }

    [DockerFact]
    public async Task A_config_real_nginx_rejects_is_STACK4008_and_the_running_config_keeps_serving()
    {
        await UpAsync(shared.Sample, StackProps(2));
        var before = await Probe.SnapshotAsync(Stack);
        using var engine = new ProxyStack.Engine.DockerEngine();
        var running = await engine.ReadFileAsync($"{Stack}-proxy", "/run/proxystack/nginx.conf", CancellationToken.None);
        Assert.NotNull(running);
        // An extension that writes a config nginx cannot load (GenerateStackProxyConfig itself never does).
        var breaker = Path.Combine(Path.GetDirectoryName(shared.Sample.Directory)!, $"{Stack}-breaker.targets");
        await File.WriteAllTextAsync(breaker, """
            <Project>
              <Target Name="BreakStackProxyConfig" AfterTargets="GenerateStackProxyConfig">
                <WriteLinesToFile File="$(IntermediateOutputPath)stack/nginx.conf" Lines="not_a_directive on%3B;events { }" Overwrite="true" />
              </Target>
            </Project>
            """);
        try
        {
            var broken = await shared.Sample.BuildAsync("StackUp", StackProps(2, ("CustomAfterStackProps", breaker)));
            Assert.NotEqual(0, broken.ExitCode);
            Assert.Contains("error STACK4008", broken.Output);
            Assert.Contains("unknown directive \"not_a_directive\"", broken.Output);
        }
        finally
        {
            File.Delete(breaker);
            // The breaker's file is newer than the generator's inputs: remove it so the next build generates the config again.
            File.Delete(Path.Combine(shared.Sample.Directory, "obj", "Debug", "net10.0", "stack", "nginx.conf"));
        }
        Assert.Equal(running, await engine.ReadFileAsync($"{Stack}-proxy", "/run/proxystack/nginx.conf", CancellationToken.None));
        Assert.Equal(before, await Probe.SnapshotAsync(Stack));
        using var http = new HttpClient();
        Assert.Equal("hello world\n", await http.GetStringAsync(Url));
        // Without the extension the stack applies again (the extension's import was an input of the app image, so the
        // image published with it is rolled out now — the rollback had kept the old replicas).
        await UpAsync(shared.Sample, StackProps(2));
        Assert.Equal("hello world\n", await http.GetStringAsync(Url));
    }

    [DockerFact]
    public async Task Two_concurrent_creations_of_one_network_leave_exactly_one()
    {
        var name = $"{Stack}-net";
        var labels = new Dictionary<string, string> { ["proxystack.stack"] = Stack, ["proxystack.role"] = "network", ["proxystack.owner"] = "test" };
        using var a = new ProxyStack.Engine.DockerEngine();
        using var b = new ProxyStack.Engine.DockerEngine();
        var results = await Task.WhenAll(new[] { a, b }.Select(async e =>
        {
            try { await e.CreateNetworkAsync(name, labels, CancellationToken.None); return "created"; }
            catch (ProxyStack.Engine.EngineRequestException x) when (x.IsConflict) { return "conflict"; }
        }));
        Assert.Contains("created", results);
        Assert.Single(await Probe.NetworksAsync(Stack));
    }

    [DockerFact]
    public async Task Unusable_DOCKER_HOST_values_are_STACK3004_never_a_stack_trace()
    {
        foreach (var (endpoint, says) in new[] { ("ssh://u@h", "ssh:// endpoints are not supported"), ("localhost:2375", "Write it as tcp://localhost:2375"), ("%%%", "it has no scheme") })
        {
            var result = await shared.Sample.BuildAsync("StackStatus", StackProps(1), new Dictionary<string, string> { ["DOCKER_HOST"] = endpoint });
            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains("error STACK3004", result.Output);
            Assert.Contains(says, result.Output);
            Assert.DoesNotContain("MSB4018", result.Output);
            Assert.DoesNotContain("   at ", result.Output);
        }
    }
}
