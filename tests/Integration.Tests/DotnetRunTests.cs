using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>`dotnet run` as a developer uses it: the stack comes up, serves, and Ctrl-C or SIGTERM leaves nothing behind.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class DotnetRunTests(SharedSample shared) : StackTest
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };


    private RunningProcess Run(bool keepRunning = false, string? launchProfile = null, params string[] more) => RunningProcess.Start(Cli.Dotnet(shared.Sample.Directory,
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
    [DockerFact]
    public Task Dotnet_run_stops_cleanly_on_SIGTERM_and_warns_when_it_applied_another_launch_profile_than_the_replicas_got() =>
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
        // the launch profile's environment.
        Assert.Equal("Development from-appsettings.Development.json from-launchSettings.json\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/environment"));
        // `dotnet run --launch-profile` does not tell the build: the replicas have the default profile's environment (above),
        // and the run says how to give them the one it applied.
        if (launchProfile is not null)
            Assert.Contains($"warning: dotnet run applied launch profile '{launchProfile}', but the replicas have the environment of 'HelloStack (stack)'", run.Output);
        else Assert.DoesNotContain("dotnet run applied launch profile", run.Output);
        // Container output streams with a per-container prefix.
        Assert.True(await run.WaitForOutputAsync($"{Stack}-app-1 | ", TimeSpan.FromSeconds(20)), run.Output);

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
        }
        finally
        {
            await Probe.Client.Containers.RemoveContainerAsync(bystander.ID, new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
        }
    }

    /// <summary>
    /// `dotnet run` killed or terminated at many points of its life — while containers are being created, while replicas are
    /// being waited on, in the window between the bring-up and the foreground program, and once serving — leaves nothing of
    /// its (non-kept) stack running: the reaper removes it, and no log runner lives on as an orphan.
    /// </summary>
    [DockerFact]
    public async Task A_dotnet_run_stack_never_outlives_its_dotnet_run_however_it_ends()
    {
        // Moments of the bring-up, seen from outside as a user or an IDE would: the first container exists; the proxy exists;
        // the first request through nginx succeeds (before the log runner has started: the window of the original report);
        // the runner is streaming logs.
        // Ctrl-C goes to the whole process group, as a terminal sends it; at "first request served" it lands in the hand-over
        // from the bring-up to the foreground program, where `dotnet run` alone receives it.
        var points = new (string Moment, Func<RunningProcess, Task<bool>> Reached, int Signal)[]
        {
            // (The first replica: the one-off nginx -v container of the proxy build, which can come earlier, exits by itself.)
            ("first container created", async _ => (await Probe.ContainersAsync(Stack)).Any(c => c.Labels["proxystack.role"] == "app"), 9),
            ("proxy created", async _ => (await Probe.ContainersAsync(Stack)).Any(c => c.Labels["proxystack.role"] == "proxy"), Cli.SIGTERM),
            ("first request served", _ => AnswersAsync(), Cli.SIGTERM),
            ("first request served", _ => AnswersAsync(), Cli.SIGINT),
            ("first request served", _ => AnswersAsync(), 9),
            ("runner streaming", r => Task.FromResult(r.Output.Contains("press Ctrl-C to stop")), 9),
        };
        foreach (var (moment, reached, signal) in points)
        {
            using (var run = Run())
            {
                var hit = false;
                for (var i = 0; i < 1800 && !hit; i++)
                {
                    hit = await reached(run);
                    if (!hit) await Task.Delay(100);
                }
                Assert.True(hit, $"never reached '{moment}': {run.Output}");
                if (signal == Cli.SIGINT) Cli.SignalGroup(run.Id, signal);
                else Cli.Signal(run.Id, signal);
                var exit = await run.WaitForExitAsync(TimeSpan.FromSeconds(60));
                // Ctrl-C ends `dotnet run` by itself (cleanly once the runner has it; as a cancelled bring-up — STACK4006 — if the
                // task was still finishing): it never keeps serving.
                if (signal == Cli.SIGINT) Assert.True(exit is not null, $"Ctrl-C at '{moment}' did not end dotnet run:\n{run.Output}");
            }
            var gone = false;
            for (var i = 0; i < 120 && !gone; i++)
            {
                gone = (await Probe.ContainersAsync(Stack)).Count == 0 && (await Probe.NetworksAsync(Stack)).Count == 0;
                if (!gone) await Task.Delay(250);
            }
            Assert.True(gone, $"signal {signal} at '{moment}' left: {string.Join(", ", (await Probe.ContainersAsync(Stack)).Select(c => c.Names[0]))}");
            await Task.Delay(1500);
            Assert.Empty(ProxyStackProcesses(" run "));
        }
        Assert.Empty(ProxyStackProcesses(" reap "));

        // The machine's worst case: the reaper dies with `dotnet run` (a power cut, kill -9 of everything). What is left is
        // found and removed by the next StackDown.
        using (var run = Run())
        {
            Assert.True(await run.WaitForOutputAsync("press Ctrl-C to stop", StartTimeout), run.Output);
            // Everything at once: the reaper, the log runner (which would tear down once orphaned) and `dotnet run`.
            foreach (var pid in ProxyStackProcessIds(" reap ").Concat(ProxyStackProcessIds(" run "))) Cli.Signal(pid, 9);
            Cli.Signal(run.Id, 9);
            await run.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        Assert.Equal(3, (await Probe.ContainersAsync(Stack)).Count);
        var down = await shared.Sample.BuildAsync("StackDown", new Dictionary<string, string> { ["StackName"] = Stack, ["StackHostPort"] = Port.ToString() });
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Contains($"Stack '{Stack}': removed 4 resource(s).", down.Output);
    }

    private List<int> ProxyStackProcessIds(string verb) => Directory.EnumerateDirectories("/proc")
        .Where(d => int.TryParse(Path.GetFileName(d), out _))
        .Where(d => { try { var c = File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' '); return c.Contains("ProxyStack.Tasks.dll") && c.Contains(verb) && c.Contains(shared.Sample.Directory); } catch (IOException) { return false; } catch (UnauthorizedAccessException) { return false; } })
        .Select(d => int.Parse(Path.GetFileName(d)))
        .ToList();

    /// <summary>ProxyStack.Tasks.dll programs started for this test's sample copy that are still alive.</summary>
    private List<int> ProxyStackProcesses(string verb) => ProxyStackProcessIds(verb);

    private async Task<bool> AnswersAsync()
    {
        try { return (await Http.GetAsync($"http://127.0.0.1:{Port}/")).IsSuccessStatusCode; }
        catch (HttpRequestException) { return false; }
        catch (TaskCanceledException) { return false; }
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
    /// profile Visual Studio has selected ($(ActiveDebugProfile), as its .user file sets it; `dotnet run` does not tell the
    /// build its profile). The app is a process on this host — the one `dotnet run` (or the IDE's debugger) started — with
    /// the profile's environment, and nginx in its container serves it through the engine's host gateway, while the API
    /// project still runs in containers at its route and the app reaches it. Ctrl-C removes every container.
    /// </summary>
    [DockerFact]
    public async Task The_debug_profile_runs_the_app_on_the_host_behind_the_stacks_nginx_and_ctrl_c_removes_the_containers()
    {
        using var run = RunningProcess.Start(Cli.Dotnet(shared.Sample.Directory,
            ["run", "--project", shared.Sample.ProjectFile, "--launch-profile", "HelloStack (debug)", "-p:ActiveDebugProfile=HelloStack (debug)",
             $"-p:StackName={Stack}", $"-p:StackHostPort={Port}", "-p:HelloStackApi=true"],
            new Dictionary<string, string> { ["StackRegistryMirror"] = Repository.Mirror }));
        Assert.True(await run.WaitForOutputAsync($"Now listening on: http://127.0.0.1:{Port + 1}", StartTimeout), run.Output);
        Assert.Contains($"Stack '{Stack}': the app on this host (http://127.0.0.1:{Port + 1}) behind nginx at http://127.0.0.1:{Port}", run.Output);
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

        Cli.SignalGroup(run.Id, Cli.SIGINT);
        Assert.NotNull(await run.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        // The stack belongs to the run: once `dotnet run` has gone, the reaper removes it.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await Probe.ContainersAsync(Stack)).Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(500);
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }

    /// <summary>The process's parent, grandparent and so on, from Linux's /proc.</summary>
    private static List<int> Ancestors(int pid)
    {
        var chain = new List<int>();
        for (var depth = 0; depth < 6 && pid > 1; depth++)
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            pid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            chain.Add(pid);
        }
        return chain;
    }

    /// <summary>
    /// `dotnet watch --no-hot-reload run`: watch opens the browser at the stack's URL (the runner's "Now listening on" line, not
    /// a replica's), a saved change restarts the run and the stack stays up through it — the next run replaces the replicas
    /// rolling while wrk and slow POSTs count no failure — and Ctrl-C removes the stack.
    /// </summary>
    [DockerFact]
    public async Task Dotnet_watch_keeps_the_stack_through_a_saved_change_with_no_failed_request_and_ctrl_c_removes_it()
    {
        using var sample = new SampleCopy();
        var browser = Path.Combine(sample.Directory, "browser.sh");
        var opened = Path.Combine(sample.Directory, "browser-opened.txt");
        File.WriteAllText(browser, $"#!/bin/sh\necho \"$1\" >> '{opened}'\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(browser, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var watch = RunningProcess.StartInTerminal(Cli.Dotnet(sample.Directory,
            ["watch", "--no-hot-reload", "run"],
            // Properties as environment variables: dotnet watch reads -p as --project. The sample's 3 replicas.
            new Dictionary<string, string>
            {
                ["StackRegistryMirror"] = Repository.Mirror, ["StackName"] = Stack, ["StackHostPort"] = Port.ToString(),
                ["DOTNET_WATCH_BROWSER_PATH"] = browser,
            }));
        Assert.True(await watch.WaitForOutputAsync("press Ctrl-C to stop", StartTimeout), watch.Output);
        // On a terminal the bring-up's progress lines wait for the foreground program (the build's live status line would
        // overwrite them) and come whole, each on its own line, before the URL.
        Assert.Matches($@"(?m)^  {Stack}-app-1 ready \(\d+\.\d s\)
?$", watch.Output);
        Assert.True(watch.Output.IndexOf("  applied in ", StringComparison.Ordinal) is var applied && applied >= 0
            && applied < watch.Output.IndexOf("Now listening on: ", StringComparison.Ordinal), watch.Output);
        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!File.Exists(opened) && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.True(File.Exists(opened), "dotnet watch opened no browser\n" + watch.Output);
        Assert.Equal($"http://127.0.0.1:{Port}", File.ReadAllText(opened).Trim());
        var proxy = (await Probe.SnapshotAsync(Stack))[$"{Stack}-proxy"];

        var load = new StrictLoad($"http://127.0.0.1:{Port}");
        await using (load)
        {
            await Task.Delay(2000);
            sample.EditProgram("hello world", "hello watch");
            deadline = DateTime.UtcNow.AddMinutes(3);
            while (DateTime.UtcNow < deadline && !(await TryGetAsync($"http://127.0.0.1:{Port}/")).StartsWith("hello watch", StringComparison.Ordinal))
                await Task.Delay(500);
            await Task.Delay(2000);
            var wrk = await load.StopAsync();
            Assert.True(wrk.Requests >= 1000 && wrk.Non2xx == 0 && wrk.SocketErrors == 0 && load.PostFailures.Count == 0 && load.Posts > 0, load.Report() + "\n" + watch.Output);
        }
        Assert.Equal("hello watch\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        Assert.Contains($"Stack '{Stack}' stays up while dotnet watch restarts", watch.Output);
        Assert.Equal(proxy, (await Probe.SnapshotAsync(Stack))[$"{Stack}-proxy"]);

        // Ctrl-C in the terminal (a SIGINT sent to the group without one is not what dotnet watch sees from a keyboard).
        watch.PressCtrlC();
        Assert.True(await watch.WaitForExitAsync(TimeSpan.FromSeconds(60)) is not null, watch.Output);
        deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await Probe.ContainersAsync(Stack)).Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(500);
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }

    private static async Task<string> TryGetAsync(string url)
    {
        try { return await Http.GetStringAsync(url); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return ""; }
    }

    [DockerFact]
    public async Task A_second_dotnet_run_reuses_the_stack_a_first_one_kept_running()
    {
        using (var first = Run(keepRunning: true))
        {
            Assert.True(await first.WaitForOutputAsync("press Ctrl-C to stop", StartTimeout), first.Output);
            Cli.SignalGroup(first.Id, Cli.SIGINT);
            Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("keeps running", first.Output);
        }
        var before = await Probe.SnapshotAsync(Stack);
        Assert.Equal(3, before.Count);

        using var second = Run(keepRunning: false);
        Assert.True(await second.WaitForOutputAsync("press Ctrl-C to stop", StartTimeout), second.Output);
        Assert.Equal(before, await Probe.SnapshotAsync(Stack));
        Cli.SignalGroup(second.Id, Cli.SIGINT);
        Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        Assert.Empty(await Probe.ContainersAsync(Stack));
    }
}
