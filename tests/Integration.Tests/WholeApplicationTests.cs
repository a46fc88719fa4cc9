using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// The grown sample as one application: the front project, its API (a StackProject at /api) and its Redis (a StackContainer),
/// behind one nginx, brought up and changed by the front project's StackUp alone. Alone on the machine: it counts failed
/// requests under load.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class WholeApplicationTests(ITestOutputHelper output) : StackTest
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly SampleCopy _sample = new();
    /// <summary>The API's own environment, a secret read from the build's environment (StackEnvironment with Project and FromEnvironment).</summary>
    private static readonly Dictionary<string, string> Env = new() { ["HELLO_API_GREETING"] = "hello-from-a-secret" };

    private Dictionary<string, string> Props(params (string Key, string Value)[] more)
    {
        var props = new Dictionary<string, string>
        {
            ["StackName"] = Stack, ["StackHostPort"] = Port.ToString(), ["StackReplicas"] = "2", ["HelloStackCache"] = "true", ["HelloStackApi"] = "true",
        };
        foreach (var (k, v) in more) props[k] = v;
        return props;
    }

    private Task<string> Get(string path) => Http.GetStringAsync($"http://127.0.0.1:{Port}{path}");

    [DockerFact]
    public async Task The_grown_sample_serves_every_part_pushes_nowhere_and_a_change_to_the_api_replaces_only_its_replicas_with_no_failed_request()
    {
        _sample.AddToProject("""  <ItemGroup><StackEnvironment Include="Greeting" Project="api" FromEnvironment="HELLO_API_GREETING" /></ItemGroup>""");
        // Both projects carry settings for their own pushes (a CI's): the front project a registry, the API a registry and a
        // tarball. The stack's images go into the local engine all the same, and nowhere else.
        _sample.AddToProject($"""  <PropertyGroup><ContainerRegistry>{Repository.Mirror}</ContainerRegistry></PropertyGroup>""");
        var apiProject = Path.Combine(_sample.Directory, "Api", "HelloStack.Api.csproj");
        var archive = Path.Combine(_sample.Directory, "Api", "image-archive");
        File.WriteAllText(apiProject, File.ReadAllText(apiProject).Replace("</TargetFramework>",
            $"</TargetFramework>\n    <ContainerRegistry>{Repository.Mirror}</ContainerRegistry>\n    <ContainerArchiveOutputPath>{archive}/</ContainerArchiveOutputPath>"));
        var up = await _sample.BuildAsync("StackUp", Props(), Env);
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Empty(await RegistryTagsAsync(Stack));
        Assert.Empty(await RegistryTagsAsync($"{Stack}-api"));
        Assert.False(Directory.Exists(archive) || File.Exists(archive.TrimEnd('/')), "a tarball of the API's image was written");

        // Every part answers through the one nginx: the front project at /, the API at /api (its prefix removed and named in
        // X-Forwarded-Prefix), the front project calling the API at the address it was given (services__api__http__0), and
        // /count on the shared Redis, one number across the replicas.
        Assert.Equal("hello world\n", await Get("/"));
        Assert.Equal("hello from the api\n", await Get("/api"));
        Assert.Equal("hello from the api\n", await Get("/api/"));
        // The API got its own StackEnvironment (a secret, read when its containers were created), the front project did not.
        Assert.Equal("/api Production hello-from-a-secret\n", await Get("/api/info"));
        // The target as the client sent it, the prefix cut off: nginx decoded %2F and merged the slashes before.
        Assert.Equal("/target/a%2Fb%20c//d?q=%2F\n", await Get("/api/target/a%2Fb%20c//d?q=%2F"));
        Assert.DoesNotContain("hello-from-a-secret", up.Output);
        Assert.Equal("hello from the api\n", await Get("/from-api"));
        var apiHosts = new HashSet<string>();
        for (var i = 1; i <= 10; i++)
        {
            Assert.Equal($"{i}\n", await Get("/count"));
            apiHosts.Add(await Get("/api/whoami"));
        }
        Assert.Equal(2, apiHosts.Count);

        // Each project's replicas carry its name.
        var containers = await Probe.ContainersAsync(Stack);
        var api = containers.Where(c => c.Labels.TryGetValue("proxystack.project", out var p) && p == "api").Select(c => c.Names[0].TrimStart('/')).Order().ToList();
        Assert.Equal([$"{Stack}-api-1", $"{Stack}-api-2"], api);

        // Redis is on the stack's network by its name and publishes nothing. Start order, from the engine's own times: every
        // replica of the front project (which depends on it) was created after Redis had started and the bring-up had seen it
        // listening (its readiness step comes before any such replica's creation in the step log).
        var cache = await Probe.InspectAsync($"{Stack}-cache");
        Assert.Contains("cache", cache.NetworkSettings.Networks[$"{Stack}-net"].Aliases);
        Assert.True(cache.HostConfig.PortBindings is null || cache.HostConfig.PortBindings.Count == 0, "a backing container without HostPort publishes nothing");
        var cacheStarted = DateTime.Parse(cache.State.StartedAt, null, System.Globalization.DateTimeStyles.RoundtripKind);
        foreach (var listed in containers.Where(c => c.Labels["proxystack.role"] == "app" && !c.Labels.ContainsKey("proxystack.project")))
        {
            var replica = await Probe.InspectAsync(listed.ID);
            Assert.True(replica.Created > cacheStarted, $"{replica.Name} was created {replica.Created:O}, before Redis started {cacheStarted:O}");
        }
        var ready = up.Output.IndexOf($"wait ready {Stack}-cache", StringComparison.Ordinal);
        Assert.True(ready >= 0 && ready < up.Output.IndexOf($"create {Stack}-app-", StringComparison.Ordinal), up.Output);

        // A change to the API's code: only its replicas are replaced, under load on both projects, without one failed request.
        var before = await Probe.SnapshotAsync(Stack);
        var program = Path.Combine(_sample.Directory, "Api", "Program.cs");
        File.WriteAllText(program, File.ReadAllText(program).Replace("hello from the api", "hello from the api, v2"));
        var onApi = new LoadGenerator($"http://127.0.0.1:{Port}/api", workers: 4);
        var onFront = new LoadGenerator($"http://127.0.0.1:{Port}/", workers: 2);
        await using (onApi)
        await using (onFront)
        {
            await Task.Delay(1000);
            var redeploy = await _sample.BuildAsync("StackUp", Props(), Env);
            Assert.True(redeploy.ExitCode == 0, redeploy.ToString());
            Assert.Contains($"keep {Stack}-cache: unchanged", redeploy.Output);
            await Task.Delay(1500);
            await onApi.StopAsync();
            await onFront.StopAsync();
            output.WriteLine(onApi.Report());
            output.WriteLine(onFront.Report());
            Assert.True(onApi.Errors == 0 && onApi.Non2xx == 0, onApi.Report());
            Assert.True(onFront.Errors == 0 && onFront.Non2xx == 0, onFront.Report());
            Assert.True(onApi.Bodies.ContainsKey("hello from the api") && onApi.Bodies.ContainsKey("hello from the api, v2"), onApi.Report());
        }
        var after = await Probe.SnapshotAsync(Stack);
        foreach (var name in new[] { $"{Stack}-app-1", $"{Stack}-app-2", $"{Stack}-cache", $"{Stack}-proxy" })
            Assert.Equal(before[name].Id, after[name].Id);
        foreach (var name in new[] { $"{Stack}-api-1", $"{Stack}-api-2" })
            Assert.NotEqual(before[name].Id, after[name].Id);
        Assert.Equal("hello from the api, v2\n", await Get("/from-api"));

        // Nothing changed: no image is built (neither project's inputs changed) and no container is touched.
        var noop = await _sample.BuildAsync("StackUp", Props(), Env);
        Assert.True(noop.ExitCode == 0, noop.ToString());
        Assert.Contains($"Stack '{Stack}' is up to date.", noop.Output);
        Assert.DoesNotContain("Building image", noop.Output);
        Assert.Equal(after, await Probe.SnapshotAsync(Stack));

        // StackDown removes every part and keeps Redis's data.
        var down = await _sample.BuildAsync("StackDown", Props());
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Contains($"{Stack}-cache-data", down.Output);
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Contains(await Probe.VolumesAsync(Stack), v => v.Name == $"{Stack}-cache-data");

        // `dotnet run` brings every part up again (Redis counts on from its kept data), each project with its own launch
        // profile's environment as a plain `dotnet run` of it would have it (the API's says Staging; its secret Greeting wins
        // over the profile's), and Ctrl-C leaves nothing but the kept volumes.
        Directory.CreateDirectory(Path.Combine(_sample.Directory, "Api", "Properties"));
        File.WriteAllText(Path.Combine(_sample.Directory, "Api", "Properties", "launchSettings.json"), """
            { "profiles": { "http": { "commandName": "Project", "applicationUrl": "http://localhost:5180",
              "environmentVariables": { "ASPNETCORE_ENVIRONMENT": "Staging", "Greeting": "from-the-profile" } } } }
            """);
        using (var run = RunningProcess.Start(Cli.Dotnet(_sample.Directory,
            ["run", "--project", _sample.ProjectFile, .. Props().Select(p => $"-p:{p.Key}={p.Value}")],
            new Dictionary<string, string>(Env) { ["StackRegistryMirror"] = Repository.Mirror })))
        {
            Assert.True(await run.WaitForOutputAsync("press Ctrl-C to stop", TimeSpan.FromMinutes(3)), run.Output);
            Assert.Contains($"Stack '{Stack}': StackProject 'api', 2 replica(s), at http://127.0.0.1:{Port}/api", run.Output);
            Assert.Equal("11\n", await Get("/count"));
            Assert.Equal("hello from the api, v2\n", await Get("/from-api"));
            Assert.Equal("/api Staging hello-from-a-secret\n", await Get("/api/info"));
            Cli.SignalGroup(run.Id, Cli.SIGINT);
            var exit = await run.WaitForExitAsync(TimeSpan.FromSeconds(90));
            Assert.True(exit == 0, $"exit {exit}\n{run.Output}");
        }
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
        Assert.Equal([$"{Stack}-cache-data", $"{Stack}-keys", $"{Stack}-keys-api"], (await Probe.VolumesAsync(Stack)).Select(v => v.Name).Order());
        var gone = await _sample.BuildAsync("StackDown", Props(("StackRemoveVolumes", "true")));
        Assert.True(gone.ExitCode == 0, gone.ToString());
        Assert.Empty(await Probe.VolumesAsync(Stack));
    }

    /// <summary>The tags a repository of the local registry holds (none when it was never pushed to).</summary>
    private static async Task<IReadOnlyList<string>> RegistryTagsAsync(string repository)
    {
        using var response = await Http.GetAsync($"http://{Repository.Mirror}/v2/{repository}/tags/list");
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return [];
        using var tags = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return tags.RootElement.GetProperty("tags") is { ValueKind: System.Text.Json.JsonValueKind.Array } list ? list.EnumerateArray().Select(t => t.GetString()!).ToList() : [];
    }

    protected override void DisposeMore()
    {
        // What the old code pushed to the project's registry, if a regression does it again.
        try { RegistryCleanup.RemoveStackAsync(Repository.Mirror, Stack).GetAwaiter().GetResult(); }
        finally { _sample.Dispose(); }
    }
}
