using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>`dotnet run` as a developer uses it: the stack comes up, serves, and Ctrl-C or SIGTERM leaves nothing behind.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class DotnetRunTests(SharedSample shared) : StackTest
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };


    private RunningProcess Run(bool keepRunning = false) => RunningProcess.Start(Cli.Dotnet(shared.Sample.Directory,
        ["run", "--project", shared.Sample.ProjectFile, $"-p:StackName={Stack}", $"-p:StackHostPort={Port}", "-p:StackReplicas=2",
         $"-p:StackKeepRunning={keepRunning.ToString().ToLowerInvariant()}"],
        new Dictionary<string, string> { ["StackRegistryMirror"] = Repository.Mirror }));

    [DockerFact]
    public Task Dotnet_run_serves_the_stack_and_ctrl_c_leaves_no_container_and_no_network() =>
        RunThenStopWith(Cli.SIGINT, group: true);

    [DockerFact]
    public Task Dotnet_run_stops_cleanly_on_SIGTERM() => RunThenStopWith(Cli.SIGTERM, group: false);

    private async Task RunThenStopWith(int signal, bool group)
    {
        using var run = Run();
        Assert.True(await run.WaitForOutputAsync("press Ctrl-C to stop", StartTimeout), run.Output);
        Assert.Contains($"Stack '{Stack}': 2 replica(s) behind nginx at http://127.0.0.1:{Port}", run.Output);
        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        // Container output streams with a per-container prefix.
        Assert.True(await run.WaitForOutputAsync($"{Stack}-app-1 | ", TimeSpan.FromSeconds(20)), run.Output);

        if (group) Cli.SignalGroup(run.Id, signal);
        else Cli.Signal(run.Id, signal);
        var exit = await run.WaitForExitAsync(TimeSpan.FromSeconds(90));
        Assert.True(exit == 0, $"exit {exit}\n{run.Output}");
        Assert.Contains($"Stack '{Stack}': removed", run.Output);
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
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
