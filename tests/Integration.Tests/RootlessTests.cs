using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// Rootless Docker: the dockerd of an unprivileged user (build/provision.sh's ensure_rootless), inside rootlesskit's
/// namespaces with slirp4netns, where the default bridge and its gateway are the engine's own and not this machine's. Every
/// observation goes to that engine, not to the root one beside it. Outcomes only, beside the other lanes.
/// </summary>
[Collection(BuildsCollection.Name)]
public sealed class RootlessTests(SharedSample shared) : StackTest
{
    /// <summary>The rootless engine's socket: PROXYSTACK_ROOTLESS_SOCKET, else the provisioned user's.</summary>
    public static string Socket { get; } = Environment.GetEnvironmentVariable("PROXYSTACK_ROOTLESS_SOCKET") is { Length: > 0 } socket ? socket
        : $"/run/user/{UserId("proxystack-rootless")}/docker.sock";

    protected override string? EngineEndpoint => "unix://" + Socket;

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private static string UserId(string user) =>
        File.ReadLines("/etc/passwd").Select(l => l.Split(':')).FirstOrDefault(f => f[0] == user)?[2] ?? "none";

    /// <summary>
    /// The debug profile on rootless Docker: the app is a process on this host listening on loopback only, and nginx in its
    /// container reaches it at slirp4netns's address of this machine's loopback (10.0.2.2) — the engine's host-gateway leads
    /// to the bridge inside the engine's namespace, where nothing listens (every request was a 502 before). The API project
    /// runs in containers of that engine at its route, and Ctrl-C removes them.
    /// </summary>
    [DockerFact]
    public async Task The_debug_profile_serves_the_app_on_the_host_through_nginx_on_rootless_docker_and_ctrl_c_removes_the_containers()
    {
        using var run = RunningProcess.Start(Cli.Dotnet(shared.Sample.Directory,
            ["run", "--project", shared.Sample.ProjectFile, "--launch-profile", "HelloStack (debug)",
             $"-p:StackName={Stack}", $"-p:StackHostPort={Port}", "-p:HelloStackApi=true"],
            new Dictionary<string, string> { ["StackRegistryMirror"] = Repository.Mirror, ["DOCKER_HOST"] = EngineEndpoint! }));
        Assert.True(await run.WaitForOutputAsync("Application started.", TimeSpan.FromMinutes(3)), run.Output);
        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        // The process that answered through nginx is this host's, and it listens on loopback alone (the bridge's gateway is
        // the engine's, not an address to open the app on).
        var pid = int.Parse((await Http.GetStringAsync($"http://127.0.0.1:{Port}/pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("HelloStack", File.ReadAllText($"/proc/{pid}/cmdline"));
        Assert.Equal([$"Now listening on: http://127.0.0.1:{Port + 1}"],
            run.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("Now listening on: ", StringComparison.Ordinal)));
        Assert.Equal(["host.docker.internal:10.0.2.2"], (await Probe.InspectAsync($"{Stack}-proxy")).HostConfig.ExtraHosts);
        Assert.StartsWith("hello from the api", await Http.GetStringAsync($"http://127.0.0.1:{Port}/api"));
        Assert.StartsWith("hello from the api", await Http.GetStringAsync($"http://127.0.0.1:{Port}/from-api"));
        Assert.Equal([$"{Stack}-api-1", $"{Stack}-api-2", $"{Stack}-proxy"],
            (await Probe.ContainersAsync(Stack)).Select(c => c.Names[0].TrimStart('/')).Order());

        Cli.SignalGroup(run.Id, Cli.SIGINT);
        Assert.NotNull(await run.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        await Probe.WaitUntilGoneAsync(Stack, TimeSpan.FromSeconds(30));
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }

    /// <summary>
    /// A rootless engine pulls from inside its own network namespace: the mirror on this machine's loopback
    /// (StackRegistryMirror=localhost:5000) is not reachable from there, and the sample's Redis is not in that engine. STACK2001
    /// says so and what to do — not "set StackRegistryMirror to … localhost:5000", which is what was set — before anything
    /// of the stack exists.
    /// </summary>
    [DockerFact]
    public async Task A_backing_image_a_rootless_engine_cannot_pull_from_the_loopback_mirror_is_STACK2001_saying_why()
    {
        var result = await shared.Sample.BuildAsync("StackUp", StackProps(1, ("HelloStackCache", "true")),
            new Dictionary<string, string> { ["DOCKER_HOST"] = EngineEndpoint! });
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"error STACK2001: The base image '{Repository.Mirror}/library/redis:7' is not available: ", result.Output);
        Assert.Contains($"The engine runs rootless and pulls from inside its own network namespace, where '{Repository.Mirror}' is its own "
            + $"loopback, not this machine's: load the image into that engine (docker save {Repository.Mirror}/library/redis:7 | docker load, "
            + "with DOCKER_HOST set to it), or name a registry by an address the engine reaches (StackRegistryMirror).", result.Output);
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }
}
