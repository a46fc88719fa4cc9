using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// StackPublish: the grown sample (front project, its API as a StackProject, Redis as a StackContainer, a secret of the API)
/// written out as a compose file that docker-compose runs on this engine, and as Kubernetes manifests that pass the
/// Kubernetes OpenAPI schema offline. Outcomes only, build-dominated (two projects' images): in the builds' lane, which
/// balances the two parallel lanes (measured in the 2026-12-01 19:38 full run: stacks 15.2 min, builds 13.1 min).
/// </summary>
[Collection(BuildsCollection.Name)]
public sealed class PublishTests(ITestOutputHelper output) : StackTest
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly SampleCopy _sample = new();
    private const string Secret = "hello-from-a-published-secret";
    private static readonly Dictionary<string, string> Env = new() { ["HELLO_API_GREETING"] = Secret };

    private Dictionary<string, string> Props(string target) => new()
    {
        ["StackName"] = Stack, ["StackHostPort"] = Port.ToString(), ["StackReplicas"] = "2", ["HelloStackCache"] = "true",
        ["HelloStackApi"] = "true", ["StackTarget"] = target,
    };

    private string Folder(string target) => Path.Combine(_sample.Directory, "bin", "Debug", "net10.0", "publish", "stack", target);

    [DockerFact]
    public async Task The_compose_file_runs_the_whole_application_and_the_kubernetes_manifests_pass_the_schema_with_secrets_kept_apart()
    {
        _sample.AddToProject("""  <ItemGroup><StackEnvironment Include="Greeting" Project="api" FromEnvironment="HELLO_API_GREETING" /></ItemGroup>""");
        // The API's image runs as another user than the front project's (1654): compose has no fsGroup, so its key ring must be
        // given to that user by number, read from the image the build made.
        var api = Path.Combine(_sample.Directory, "Api", "HelloStack.Api.csproj");
        File.WriteAllText(api, File.ReadAllText(api).Replace("</TargetFramework>", "</TargetFramework>\n    <ContainerUser>1000</ContainerUser>"));
        // No target: a coded error before anything is built, and nothing written.
        var none = await _sample.BuildAsync("StackPublish", Props(""));
        Assert.True(none.ExitCode != 0 && none.Output.Contains("error STACK1050: StackTarget is '': StackPublish writes the stack for compose or kubernetes, StackDeploy deploys it to swarm."), none.ToString());
        Assert.False(Directory.Exists(Path.Combine(_sample.Directory, "bin", "Debug", "net10.0", "publish", "stack")));

        var published = await _sample.BuildAsync("StackPublish", Props("compose"), Env);
        Assert.True(published.ExitCode == 0, published.ToString());
        Assert.Contains($"Stack '{Stack}' written for compose to {Folder("compose")}/ (4 services). Run it: docker compose -p {Stack} up -d", published.Output);
        var folder = Folder("compose");
        Assert.Equal(["api-app.secrets.env", "compose.yaml", "nginx.conf"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        // The secret is only in its env file, readable by its owner only; StackPublish changed nothing on the engine.
        Assert.DoesNotContain(Secret, File.ReadAllText(Path.Combine(folder, "compose.yaml")) + published.Output);
        Assert.Equal($"Greeting={Secret}\n", File.ReadAllText(Path.Combine(folder, "api-app.secrets.env")));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "api-app.secrets.env")));
        Assert.Empty(await Probe.ContainersAsync(Stack));

        var config = await Compose(folder, "config", "-q");
        Assert.True(config.ExitCode == 0, config.ToString());
        try
        {
            var up = await Compose(folder, "up", "-d");
            Assert.True(up.ExitCode == 0, up.ToString());
            // nginx in front of every part, as StackUp serves it: the front project, the API at /api (and its secret), the
            // front project calling the API by the address it was given (through nginx), Redis shared by the replicas.
            Assert.Equal("hello world\n", await GetWhenServed("/"));
            // Published, nginx sits behind what terminates TLS in front of the stack (an Ingress, a load balancer): the app is
            // told the scheme that proxy says, so it writes https:// links and does not redirect an HTTPS request forever.
            // Without the header, or with anything but http/https, nginx's own.
            foreach (var (proto, seen) in new[] { ("https", "https"), ("", "http"), ("gopher", "http") })
                Assert.StartsWith($"{seen} 127.0.0.1:{Port} ", await GetWith("/client", "X-Forwarded-Proto", proto));
            // The path prefix a path-based Ingress removed reaches the app (its trailing slash dropped), and comes before the
            // API's route; anything but a path is none.
            Assert.Equal("prefix=[/shop] port=[] forwarded=[]\n", await GetWith("/forwarded", "X-Forwarded-Prefix", "/shop/"));
            Assert.Equal($"/shop/api Production {Secret}\n", await GetWith("/api/info", "X-Forwarded-Prefix", "/shop"));
            Assert.Equal("prefix=[] port=[] forwarded=[]\n", await GetWith("/forwarded", "X-Forwarded-Prefix", "shop"));
            Assert.Equal("hello from the api\n", await Get("/api/"));
            Assert.Equal($"/api Production {Secret}\n", await Get("/api/info"));
            // The target as the client sent it, the prefix cut off: nginx decoded %2F and merged the slashes before.
            Assert.Equal("/target/a%2Fb%20c//d?q=%2F\n", await Get("/api/target/a%2Fb%20c//d?q=%2F"));
            Assert.Equal("hello from the api\n", await Get("/from-api"));
            for (var i = 1; i <= 4; i++) Assert.Equal($"{i}\n", await Get("/count"));
            var hosts = new HashSet<string>();
            for (var i = 0; i < 20; i++) hosts.Add(await Get("/whoami"));
            Assert.Equal(2, hosts.Count);
            // Each replica set's key ring volume belongs to the user its replicas run as, as StackUp's do, and is its own: a file
            // the front project's replica (1654) writes into its ring is not in the API's, which its replica (1000) writes to.
            var ring = await Compose(folder, "exec", "-T", "app", "sh", "-c", "cd /proxystack/ASP.NET/DataProtection-Keys && id -u && stat -c '%u %a' . && touch marker.txt && ls");
            Assert.True(ring.ExitCode == 0 && ring.Output.Trim().Split('\n') is ["1654", "1654 700", .., "marker.txt"], ring.ToString());
            var apiRing = await Compose(folder, "exec", "-T", "api-app", "sh", "-c", "cd /proxystack/ASP.NET/DataProtection-Keys && id -u && stat -c '%u %a' . && touch api-marker.txt && ls");
            Assert.True(apiRing.ExitCode == 0 && apiRing.Output.Trim().Split('\n') is ["1000", "1000 700", .., "api-marker.txt"] && !apiRing.Output.Trim().Split('\n').Contains("marker.txt"), apiRing.ToString());
            // Only nginx is published, on the stack's loopback address.
            var ps = await Probe.Client.Containers.ListContainersAsync(new Docker.DotNet.Models.ContainersListParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={Stack}"] = true } },
            });
            var published0 = ps.Where(c => c.Ports.Any(p => p.PublicPort > 0)).ToList();
            Assert.Equal([$"{Stack}_proxy_1"], published0.Select(c => c.Names[0].TrimStart('/')));
            Assert.All(published0.Single().Ports.Where(p => p.PublicPort > 0), p => Assert.Equal("127.0.0.1", p.IP));
        }
        finally
        {
            var down = await Compose(folder, "down", "-v");
            output.WriteLine(down.ToString());
            // docker-compose's own teardown left nothing of the project.
            Assert.Empty(await Probe.CleanComposeProjectAsync(Stack));
        }

        // The same stack as Kubernetes manifests (the images are built already).
        var manifests = await _sample.BuildAsync("StackPublish", Props("kubernetes"), Env);
        Assert.True(manifests.ExitCode == 0, manifests.ToString());
        folder = Folder("kubernetes");
        Assert.Equal(["secrets.yaml", "stack.yaml"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var stack = File.ReadAllText(Path.Combine(folder, "stack.yaml"));
        Assert.DoesNotContain(Secret, stack);
        Assert.Contains(Secret, File.ReadAllText(Path.Combine(folder, "secrets.yaml")));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "secrets.yaml")));
        // The same nginx config as the compose file's, but the upstreams are the Services by name (no re-resolution needed).
        Assert.Contains("server app:8080 max_fails=3", stack);
        Assert.Contains("server api-app:8080 max_fails=3", stack);

        var validate = await Cli.RunAsync(Cli.Program("node", folder, Repository.File("build", "k8s-schema", "validate.mjs"), "stack.yaml", "secrets.yaml"));
        output.WriteLine(validate.ToString());
        Assert.True(validate.ExitCode == 0, validate.ToString());
        // The namespace, nginx's ConfigMap, the claims of Redis's volume and of the two key rings (the app's, the API's), a
        // Deployment and a Service each for Redis, the app, the API and nginx, nginx's Service under the API's name, and the
        // API's Secret.
        Assert.Contains("15 valid, 0 invalid", validate.Output);

        // With the app on this host (the F5 profile's StackAppOnHost), the manifests are the same: a manifest has no host, so
        // the front project's replicas are containers there, from its image built all the same.
        var onHost = await _sample.BuildAsync("StackPublish", new Dictionary<string, string>(Props("kubernetes")) { ["StackAppOnHost"] = "true" }, Env);
        Assert.True(onHost.ExitCode == 0, onHost.ToString());
        Assert.Equal(stack, File.ReadAllText(Path.Combine(folder, "stack.yaml")));

        // A stack name Kubernetes rejects: a coded error naming it, and the manifests of the earlier StackPublish stay.
        var rejected = await _sample.BuildAsync("StackPublish", new Dictionary<string, string>(Props("kubernetes")) { ["StackName"] = Stack + ".v2" }, Env);
        Assert.True(rejected.ExitCode != 0 && rejected.Output.Contains($"error STACK1051: Stack name '{Stack}.v2' is not a name kubernetes accepts"), rejected.ToString());
        Assert.Equal(stack, File.ReadAllText(Path.Combine(folder, "stack.yaml")));
        OtherStacks.Add(Stack + ".v2");
    }

    private Task<ProcessResult> Compose(string folder, params string[] args)
    {
        return Cli.RunAsync(Cli.Program("docker-compose", folder, ["-p", Stack, .. args]), TimeSpan.FromMinutes(3));
    }

    private Task<string> Get(string path) => Http.GetStringAsync($"http://127.0.0.1:{Port}{path}");

    /// <summary>GET <paramref name="path"/> with <paramref name="header"/> set to <paramref name="value"/> (none when empty), as a proxy in front would send it.</summary>
    private async Task<string> GetWith(string path, string header, string value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{Port}{path}");
        if (value.Length > 0) request.Headers.Add(header, value);
        using var response = await Http.SendAsync(request);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>docker-compose up -d returns once the containers started, not once they serve: the first answer, within a minute.</summary>
    private async Task<string> GetWhenServed(string path)
    {
        var until = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            try
            {
                using var response = await Http.GetAsync($"http://127.0.0.1:{Port}{path}");
                if (response.IsSuccessStatusCode) return await response.Content.ReadAsStringAsync();
            }
            catch (HttpRequestException) { }
            if (DateTime.UtcNow > until) throw new TimeoutException($"nothing served {path} within a minute");
            await Task.Delay(250);
        }
    }

    protected override void DisposeMore()
    {
        using (var probe = new StackProbe()) probe.CleanComposeProjectAsync(Stack).GetAwaiter().GetResult();
        _sample.Dispose();
    }
}
