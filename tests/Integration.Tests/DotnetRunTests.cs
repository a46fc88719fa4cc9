using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// `dotnet run` as a developer uses it: the stack comes up, serves, and Ctrl-C or SIGTERM leaves nothing behind. Outcomes only
/// (signals once the stack serves), so beside the other lanes; signals at chosen moments of the bring-up and counting failed
/// requests through `dotnet watch` need the machine alone: <see cref="DotnetRunLifetimeTests"/>.
/// </summary>
[Collection(StacksCollection.Name)]
public sealed class DotnetRunTests(SharedSample shared) : StackTest
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };


    /// <param name="from">The directory `dotnet run --project` is typed in (default: the project's own).</param>
    private RunningProcess Run(bool keepRunning = false, string? launchProfile = null, string? from = null, params string[] more) => RunningProcess.Start(Cli.Dotnet(from ?? shared.Sample.Directory,
        ["run", "--project", shared.Sample.ProjectFile, $"-p:StackName={Stack}", $"-p:StackHostPort={Port}", "-p:StackReplicas=2",
         $"-p:StackKeepRunning={keepRunning.ToString().ToLowerInvariant()}", .. launchProfile is null ? Array.Empty<string>() : ["--launch-profile", launchProfile], .. more],
        new Dictionary<string, string> { ["StackRegistryMirror"] = Repository.Mirror }));

    [DockerFact]
    public Task Dotnet_run_serves_the_stack_and_ctrl_c_leaves_no_container_and_no_network() =>
        RunThenStopWith(Cli.SIGINT, group: true);

    /// <summary>
    /// Also on Visual Studio's path: the tasks in the out-of-process .NET task host that MSBuild on .NET Framework uses
    /// (<see cref="TaskHostTests"/>).
    /// </summary>
    /// <remarks>
    /// `dotnet run --launch-profile` does not tell the build the profile; read from its command line (here from the task host,
    /// two processes below it), the replicas get that profile's environment.
    /// </remarks>
    [DockerFact]
    public Task Dotnet_run_stops_cleanly_on_SIGTERM_and_gives_the_replicas_the_launch_profile_it_applies() =>
        RunThenStopWith(Cli.SIGTERM, group: false, launchProfile: "Staging", "-p:_StackMSBuildRuntimeType=Full");

    private async Task RunThenStopWith(int signal, bool group, string? launchProfile = null, params string[] more)
    {
        using var run = Run(launchProfile: launchProfile, more: more);
        Assert.True(await run.WaitForOutputAsync("press Ctrl-C to stop", StartTimeout), run.Output);
        Assert.Contains($"Stack '{Stack}': 2 replica(s) behind nginx at http://127.0.0.1:{Port}", run.Output);
        // The bring-up was watchable: one line per replica and for the proxy with how long each took, then the URL once, first
        // as the line dotnet watch and editors look for.
        var output = run.Output.Replace("\r", "");
        Assert.Matches($@"(?m)^  app image {Stack}:latest (built \(sha256:[0-9a-f]{{12}}\)|up to date)$", output);
        Assert.Matches($@"(?m)^  {Stack}-app-1 ready \(\d+\.\d s\)$", output);
        Assert.Matches($@"(?m)^  {Stack}-app-2 ready \(\d+\.\d s\)$", output);
        Assert.Matches($@"(?m)^  proxy {Stack}-proxy ready \(\d+\.\d s\)$", output);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(run.Output, "behind nginx at"));
        Assert.True(run.Output.IndexOf($"Now listening on: http://127.0.0.1:{Port}", StringComparison.Ordinal) < run.Output.IndexOf("behind nginx at", StringComparison.Ordinal), run.Output);
        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        // Replicas run as a plain `dotnet run` would run the app: in Development (appsettings.Development.json applies), with
        // the launch profile's environment — the one named on the command line, else the first.
        Assert.Equal(launchProfile is null ? "Development from-appsettings.Development.json from-launchSettings.json\n" : "Staging - from-the-Staging-profile\n",
            await Http.GetStringAsync($"http://127.0.0.1:{Port}/environment"));
        Assert.DoesNotContain("dotnet run applied launch profile", run.Output);
        // The Staging profile listens on HTTPS, as the templates' "https" does; the stack serves none, and says how to.
        var httpsNote = string.Format(ProxyStack.Resources.Strings.LaunchProfileHttpsNotServed, "Staging", "https://localhost:7001", Stack, 7001);
        if (launchProfile is null) Assert.DoesNotContain("serves HTTP only", run.Output);
        else BeforeTheCallToAction(httpsNote, run.Output);
        // Container output streams with a per-container prefix.
        Assert.True(await run.WaitForOutputAsync($"{Stack}-app-1 | ", TimeSpan.FromSeconds(20)), run.Output);
        // The proxy's too (the access log of the request above), but not the line its start-up hold writes for ProxyStack.
        Assert.True(await run.WaitForOutputAsync($"{Stack}-proxy | ", TimeSpan.FromSeconds(20)), run.Output);
        Assert.DoesNotContain(ProxyStack.Proxy.ProxyBuildContext.HeldMark, run.Output);

        // A container someone runs by hand from the app image meanwhile: the end of `dotnet run` must leave it alone.
        var bystander = await Probe.Client.Containers.CreateContainerAsync(new Docker.DotNet.Models.CreateContainerParameters { Name = $"{Stack}-bystander", Image = $"{Stack}:latest" });
        try
        {
            await Probe.Client.Containers.StartContainerAsync(bystander.ID, new Docker.DotNet.Models.ContainerStartParameters());
            if (group) Cli.SignalGroup(run.Id, signal);
            else Cli.Signal(run.Id, signal);
            var exit = await run.WaitForExitAsync(TimeSpan.FromSeconds(90));
            Assert.True(exit == 0, $"exit {exit}\n{run.Output}");
            Assert.Contains($"Stack '{Stack}': removed", run.Output);
            Assert.Empty(await Probe.ContainersAsync(Stack));
            Assert.Empty(await Probe.NetworksAsync(Stack));
            await Task.Delay(1000); // the reaper's pass, after `dotnet run` has gone
            Assert.True((await Probe.InspectAsync(bystander.ID)).State.Running);
            // Nor does the run leave its registration folder in the temp folder.
            Assert.False(Directory.Exists(ProxyStack.Execution.RunRegistry.FolderFor(Stack)), ProxyStack.Execution.RunRegistry.FolderFor(Stack));
        }
        finally
        {
            await Probe.Client.Containers.RemoveContainerAsync(bystander.ID, new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
        }
    }

    /// <summary>The opt-out: with StackRunHook=false (here as an environment variable) `dotnet run` is the plain app on the host.</summary>
    [DockerFact]
    public async Task With_StackRunHook_false_dotnet_run_runs_the_app_plainly_and_starts_no_container()
    {
        var appPort = Ports.Free();
        using var run = RunningProcess.Start(Cli.Dotnet(shared.Sample.Directory,
            ["run", "--project", shared.Sample.ProjectFile, "--no-launch-profile", $"-p:StackName={Stack}", $"-p:StackHostPort={Port}"],
            new Dictionary<string, string> { ["StackRunHook"] = "false", ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{appPort}" }));
        Assert.True(await run.WaitForOutputAsync("Now listening on", StartTimeout), run.Output);
        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{appPort}/"));
        Assert.DoesNotContain("STACK", run.Output);
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
        Cli.SignalGroup(run.Id, Cli.SIGINT);
        Assert.Equal(0, await run.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>
    /// F5 that debugs: the sample's "HelloStack (debug)" launch profile sets StackAppOnHost, which the build reads from the
    /// profile `dotnet run --launch-profile` names on its command line (dotnet run does not tell the build; Visual Studio's
    /// $(ActiveDebugProfile) is TaskAdapterTests'). The app is a process on this host — the one `dotnet run` (or the IDE's debugger) started — with
    /// the profile's environment, and nginx in its container serves it through the engine's host gateway, while the API
    /// project still runs in containers at its route and the app reaches it. Ctrl-C removes every container.
    /// In a terminal, as a developer types it: there the bring-up's lines wait in a file for the foreground program (the
    /// build's live status line would overwrite them), which is the app, so the run command prints them before the app starts.
    /// An IDE's console is not a terminal: its lines come as they happen, as every piped run's here.
    /// </summary>
    [DockerFact]
    public async Task The_debug_profile_runs_the_app_on_the_host_behind_the_stacks_nginx_and_ctrl_c_removes_the_containers()
    {
        using var run = RunningProcess.StartInTerminal(Cli.Dotnet(shared.Sample.Directory,
            ["run", "--project", shared.Sample.ProjectFile, "--launch-profile", "HelloStack (debug)",
             $"-p:StackName={Stack}", $"-p:StackHostPort={Port}", "-p:HelloStackApi=true"],
            new Dictionary<string, string> { ["StackRegistryMirror"] = Repository.Mirror }));
        Assert.True(await run.WaitForOutputAsync($"Now listening on: http://127.0.0.1:{Port + 1}", StartTimeout), run.Output);
        var listening = run.Output.IndexOf("Now listening on: ", StringComparison.Ordinal);
        foreach (var line in new[] { $"Stack '{Stack}': the app on this host (http://127.0.0.1:{Port + 1}) behind nginx at http://127.0.0.1:{Port}", "  applied in " })
            Assert.True(run.Output.IndexOf(line, StringComparison.Ordinal) is >= 0 and var at && at < listening, $"{line}\n{run.Output}");
        Assert.Matches($@"(?m)^  {Stack}-api-1 ready \(\d+\.\d s\)\r?$", run.Output);
        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        // The process that answered through nginx is a process of this host, started by `dotnet run`.
        var pid = int.Parse((await Http.GetStringAsync($"http://127.0.0.1:{Port}/pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("HelloStack", File.ReadAllText($"/proc/{pid}/cmdline"));
        Assert.Contains(run.Id, Ancestors(pid));
        Assert.Equal("Development from-appsettings.Development.json from-the-debug-profile\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/environment"));
        // No replica of the app; the API's replicas serve its route, and the app on the host reaches the API.
        var containers = (await Probe.ContainersAsync(Stack)).Select(c => c.Names[0].TrimStart('/')).ToList();
        Assert.Equal([$"{Stack}-api-1", $"{Stack}-api-2", $"{Stack}-proxy"], containers.Order());
        Assert.StartsWith("hello from the api", await Http.GetStringAsync($"http://127.0.0.1:{Port}/api"));
        Assert.StartsWith("hello from the api", await Http.GetStringAsync($"http://127.0.0.1:{Port}/from-api"));
        // Printed once: the file they waited in is gone.
        Assert.False(File.Exists(Path.Combine(shared.Sample.Directory, "obj", "Debug", "net10.0", "stack", "run-progress.txt")));

        run.PressCtrlC();
        Assert.NotNull(await run.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        // The stack belongs to the run: once `dotnet run` has gone, the reaper removes it.
        await Probe.WaitUntilGoneAsync(Stack, TimeSpan.FromSeconds(30));
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }

    /// <summary>
    /// The debug profile on a machine whose firewall drops what containers send it (as ufw does by default; here an INPUT rule
    /// for the app's port from anything but loopback, removed however the test ends): nginx cannot reach the app on the host.
    /// Before the app starts, the bring-up tries nginx's way to it and says so with STACK4025, naming the firewall — not a 502
    /// for every request once the app runs, and not the 60 s wait of STACK4010 that a proxy waiting on its 2 s probes for an
    /// answer nginx gives only after its own 2 s connect timeout had. The run fails, and its stack goes with it.
    /// </summary>
    [DockerFact]
    public async Task The_debug_profile_behind_a_firewall_that_drops_what_containers_send_the_app_is_STACK4025_before_the_app_starts()
    {
        string[] rule = ["INPUT", "-p", "tcp", "--dport", (Port + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), "!", "-i", "lo",
            "-m", "comment", "--comment", $"proxystack-test-{Stack}", "-j", "DROP"];
        try
        {
            await IptablesAsync(["-I", .. rule]);
            using var run = Run(launchProfile: "HelloStack (debug)");
            Assert.NotEqual(0, await run.WaitForExitAsync(StartTimeout));
            Assert.Contains($"error STACK4025: Stack '{Stack}': nginx cannot reach the app on this host. A request through the proxy to "
                + $"host.docker.internal:{Port + 1} (in its /etc/hosts: host-gateway) did not arrive where the app is to listen (127.0.0.1:{Port + 1}", run.Output);
            Assert.Contains($"A firewall on this machine most likely drops what the engine's containers send it (ufw, firewalld, an iptables INPUT rule): allow TCP port {Port + 1}", run.Output);
            Assert.DoesNotContain("STACK4010", run.Output);
            Assert.DoesNotContain("Now listening on", run.Output);
            await Probe.WaitUntilGoneAsync(Stack, TimeSpan.FromSeconds(30));
            Assert.Empty(await Probe.ContainersAsync(Stack));
            Assert.Empty(await Probe.NetworksAsync(Stack));
        }
        finally
        {
            while ((await Cli.RunAsync(Cli.Program("iptables", Repository.Root, ["-D", .. rule]))).ExitCode == 0) { }
        }
    }

    private static async Task IptablesAsync(string[] args)
    {
        var result = await Cli.RunAsync(Cli.Program("iptables", Repository.Root, args));
        if (result.ExitCode != 0) throw new InvalidOperationException($"iptables {string.Join(' ', args)} failed:\n{result}");
    }

    /// <summary>Asserts that <paramref name="line"/> was printed, before the run's last line ("… press Ctrl-C to stop.").</summary>
    private static void BeforeTheCallToAction(string line, string output) =>
        Assert.True(output.IndexOf(line, StringComparison.Ordinal) is >= 0 and var at
            && at < output.IndexOf("press Ctrl-C to stop", StringComparison.Ordinal), output);

    /// <summary>The process's parent, grandparent and so on, from Linux's /proc.</summary>
    private static List<int> Ancestors(int pid)
    {
        var chain = new List<int>();
        for (var depth = 0; depth < 6 && pid > 1; depth++)
        {
            pid = ProxyStack.Execution.RunOwner.ParentOf(pid);
            chain.Add(pid);
        }
        return chain;
    }

    [DockerFact]
    public async Task A_second_dotnet_run_reuses_the_stack_a_first_one_kept_running()
    {
        // An earlier run's Ctrl-C, noted for its foreground program, means nothing to this run (a kept stack's included).
        var stackDir = Path.Combine(shared.Sample.Directory, "obj", "Debug", "net10.0", "stack");
        Directory.CreateDirectory(stackDir);
        File.WriteAllText(Path.Combine(stackDir, "interrupted"), "1");
        // Typed in the folder above the project's, as at a solution root: the command it suggests names the project file, since
        // the bare `dotnet build -t:StackDown` there would not reach it.
        using (var first = Run(keepRunning: true, from: Path.GetDirectoryName(shared.Sample.Directory)))
        {
            Assert.True(await first.WaitForOutputAsync("press Ctrl-C to stop", StartTimeout), first.Output);
            await Http.GetAsync($"http://127.0.0.1:{Port}/asked-during-the-first-run");
            // A client sending ProxyStack's probe header with a value of its own, to stay out of the log.
            using (var pretender = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{Port}/sent-as-a-probe"))
            {
                pretender.Headers.Add("X-ProxyStack-Probe", "1");
                await Http.SendAsync(pretender);
            }
            // The proxy's access log shows both requests and none of the bring-up's probes through it (each route's), which
            // carry the stack's own token: that value alone keeps a request out of the log.
            Assert.True(await first.WaitForOutputAsync("/asked-during-the-first-run", TimeSpan.FromSeconds(20)), first.Output);
            Assert.True(await first.WaitForOutputAsync("/sent-as-a-probe", TimeSpan.FromSeconds(20)), first.Output);
            var logged = first.Output.Split('\n').Where(l => l.Contains(" upstream=", StringComparison.Ordinal)).ToList();
            Assert.True(logged.Count == 2, first.Output);
            Cli.SignalGroup(first.Id, Cli.SIGINT);
            Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains(string.Format(ProxyStack.Resources.Strings.StackKeptRunning, Stack, $"dotnet build {shared.Sample.ProjectFile} -t:StackDown"), first.Output);
        }
        var before = await Probe.SnapshotAsync(Stack);
        Assert.Equal(3, before.Count);

        // StackLaunchProfile names the profile the replicas get outright, here the one they have: the stack is reused as it
        // is, and the run says that the profile it applied itself is not theirs, and how to give it to them.
        using var second = Run(keepRunning: false, launchProfile: "Staging", more: "-p:StackLaunchProfile=HelloStack (stack)");
        Assert.True(await second.WaitForOutputAsync("press Ctrl-C to stop", StartTimeout), second.Output);
        Assert.Equal(before, await Probe.SnapshotAsync(Stack));
        // On standard output before "press Ctrl-C to stop" (dotnet watch shows standard output only): here by then.
        var mismatch = "warning: " + string.Format(ProxyStack.Resources.Strings.LaunchProfileMismatch, "Staging", "'HelloStack (stack)'");
        BeforeTheCallToAction(mismatch, second.Output);
        // The proxy's log follows from this run on: the first run's requests are not replayed.
        await Http.GetAsync($"http://127.0.0.1:{Port}/asked-during-the-second-run");
        Assert.True(await second.WaitForOutputAsync("/asked-during-the-second-run", TimeSpan.FromSeconds(20)), second.Output);
        Assert.DoesNotContain("/asked-during-the-first-run", second.Output);
        Cli.SignalGroup(second.Id, Cli.SIGINT);
        Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        Assert.Empty(await Probe.ContainersAsync(Stack));
    }
}
