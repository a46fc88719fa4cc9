using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// Faults during a bring-up — an app that crashes at start, a host port another stack holds, two bring-ups at once, Ctrl-C
/// and SIGTERM — each asserting outcomes only (codes, what is left), so they run beside the build-heavy tests. The faults
/// that need the machine to themselves (an engine restart, a crash under load, a bound on recovery time) are FaultTests.
/// </summary>
[Collection(StacksCollection.Name)]
public sealed class BringUpFaultTests(SharedSample shared) : StackTest
{
    private Dictionary<string, string> Props(int replicas = 2, string? stack = null) => new()
    {
        ["StackName"] = stack ?? Stack, ["StackHostPort"] = Port.ToString(), ["StackReplicas"] = replicas.ToString(),
    };

    [DockerFact]
    public async Task An_app_that_crashes_at_start_up_fails_with_its_exit_code_and_last_log_lines_and_is_rolled_back()
    {
        using var sample = new SampleCopy();
        sample.EditProgram("var app = builder.Build();", "var app = builder.Build();\nthrow new InvalidOperationException(\"connection string missing\");");
        var props = Props();
        props["StackReadyTimeout"] = "300";
        var result = await sample.BuildAsync("StackUp", props);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error STACK4005", result.Output);
        Assert.Contains("connection string missing", result.Output);
        // At once, not at the timeout: the whole build (publish included) took under a third of StackReadyTimeout.
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(100), $"took {result.Elapsed}");
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }

    [DockerFact]
    public async Task A_host_port_held_by_another_stack_fails_with_STACK4003_and_leaves_the_other_stack_alone()
    {
        var other = Ports.NewStackName();
        OtherStacks.Add(other);
        var first = await shared.Sample.BuildAsync("StackUp", Props(1, other));
        Assert.True(first.ExitCode == 0, first.ToString());
        var before = await Probe.SnapshotAsync(other);

        var second = await shared.Sample.BuildAsync("StackUp", Props(1));
        Assert.NotEqual(0, second.ExitCode);
        Assert.Contains("error STACK4003", second.Output);
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Equal(before, await Probe.SnapshotAsync(other));
    }

    [DockerFact]
    public async Task Two_bring_ups_of_one_stack_at_once_give_one_stack_without_duplicates()
    {
        // Both start while the stack's lock is held (as a third bring-up would hold it), so they meet at the lock whatever
        // their start-up times: started side by side and left alone, the first once finished before the second had asked
        // (a full run, 2026-12-02). Each waits; once the lock is free they run one after the other.
        using (var held = await ProxyStack.Execution.StackLock.AcquireAsync(Stack, new NullStackLog(), TimeSpan.FromMinutes(1), CancellationToken.None))
        {
            // Restored once before, never by two builds at once.
            if (!File.Exists(Path.Combine(shared.Sample.Directory, "obj", "project.assets.json"))) Assert.Equal(0, (await shared.Sample.BuildAsync("Restore")).ExitCode);
            var args = shared.Sample.BuildArguments("StackUp", Props(3));
            using var first = RunningProcess.Start(Cli.Dotnet(shared.Sample.Directory, args));
            using var second = RunningProcess.Start(Cli.Dotnet(shared.Sample.Directory, args));
            foreach (var build in new[] { first, second })
                Assert.True(await build.WaitForOutputAsync($"Stack '{Stack}': waiting for another bring-up or teardown of this stack to finish (pid {Environment.ProcessId}: ", TimeSpan.FromMinutes(3)), build.Output);
            held.Dispose();
            foreach (var build in new[] { first, second })
            {
                var exit = await build.WaitForExitAsync(TimeSpan.FromMinutes(3));
                Assert.True(exit == 0, $"exit {exit}\n{build.Output}");
            }
        }
        var names = (await Probe.ContainersAsync(Stack)).Select(c => c.Names[0].TrimStart('/')).Order().ToList();
        Assert.Equal([$"{Stack}-app-1", $"{Stack}-app-2", $"{Stack}-app-3", $"{Stack}-proxy"], names);
        Assert.Single(await Probe.NetworksAsync(Stack));
        // They ran one after the other, the lock's work. Each deploys the image id its own build produced, so all replicas
        // run one image — the last one applied.
        var images = new HashSet<string>();
        foreach (var c in (await Probe.ContainersAsync(Stack)).Where(c => c.Labels["proxystack.role"] == "app")) images.Add((await Probe.InspectAsync(c.ID)).Image);
        Assert.Single(images);
    }

    [DockerFact]
    public Task Ctrl_C_during_StackUp_removes_what_the_bring_up_created() => InterruptStackUp(Cli.SIGINT, group: true);

    [DockerFact]
    public Task SIGTERM_during_StackUp_removes_what_the_bring_up_created() => InterruptStackUp(Cli.SIGTERM, group: false);

    private async Task InterruptStackUp(int signal, bool group)
    {
        using var build = RunningProcess.Start(Cli.Dotnet(shared.Sample.Directory, shared.Sample.BuildArguments("StackUp", new Dictionary<string, string>
        {
            ["StackName"] = Stack, ["StackHostPort"] = Port.ToString(), ["StackReplicas"] = "2", ["StackHealthPath"] = "/never-there", ["StackReadyTimeout"] = "120",
        })));
        Assert.True(await build.WaitForOutputAsync($"wait ready {Stack}-app-", TimeSpan.FromMinutes(3)), build.Output);
        await Task.Delay(1000);
        Assert.NotEmpty(await Probe.ContainersAsync(Stack));

        if (group) Cli.SignalGroup(build.Id, signal);
        else Cli.Signal(build.Id, signal);
        var exit = await build.WaitForExitAsync(TimeSpan.FromSeconds(60));
        // A cancelled build fails: it must never report success for a stack it did not bring up.
        Assert.True(exit is not null and not 0, $"exit {exit}\n{build.Output}");
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
        // The key ring's volume was created by this bring-up, so it is undone with the rest.
        Assert.Empty(await Probe.VolumesAsync(Stack));
        // Ctrl-C cancels the build through MSBuild, which says so itself: a warning. SIGTERM ends the process, whose exit
        // waits for the task and then for the loggers to print it (StackTask.LogFlushGrace): an error, since MSBuild, knowing
        // of no cancellation, would add MSB4181 to a task that failed with a warning only.
        Assert.Contains(signal == Cli.SIGINT ? "warning STACK4006" : "error STACK4006", build.Output);
        Assert.DoesNotContain("MSB4181", build.Output);
    }
}
