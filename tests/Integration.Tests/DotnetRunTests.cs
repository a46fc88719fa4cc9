using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>`dotnet run` as a developer uses it: the stack comes up, serves, and Ctrl-C or SIGTERM leaves nothing behind.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class DotnetRunTests(SharedSample shared) : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private readonly StackProbe _probe = new();
    private readonly string _stack = Ports.NewStackName();
    private readonly int _port = Ports.Free();
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose()
    {
        _probe.CleanAsync(_stack).GetAwaiter().GetResult();
        _probe.Dispose();
    }

    private RunningProcess Run(bool keepRunning = false) => RunningProcess.Start(Cli.Dotnet(shared.Sample.Directory,
        ["run", "--project", shared.Sample.ProjectFile, $"-p:StackName={_stack}", $"-p:StackHostPort={_port}", "-p:StackReplicas=2",
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
        Assert.Contains($"Stack '{_stack}': 2 replica(s) behind nginx at http://127.0.0.1:{_port}", run.Output);
        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{_port}/"));
        // Container output streams with a per-container prefix.
        Assert.True(await run.WaitForOutputAsync($"{_stack}-app-1 | ", TimeSpan.FromSeconds(20)), run.Output);

        if (group) Cli.SignalGroup(run.Id, signal);
        else Cli.Signal(run.Id, signal);
        var exit = await run.WaitForExitAsync(TimeSpan.FromSeconds(90));
        Assert.True(exit == 0, $"exit {exit}\n{run.Output}");
        Assert.Contains($"Stack '{_stack}': removed", run.Output);
        Assert.Empty(await _probe.ContainersAsync(_stack));
        Assert.Empty(await _probe.NetworksAsync(_stack));
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
        var before = await _probe.SnapshotAsync(_stack);
        Assert.Equal(3, before.Count);

        using var second = Run(keepRunning: false);
        Assert.True(await second.WaitForOutputAsync("press Ctrl-C to stop", StartTimeout), second.Output);
        Assert.Equal(before, await _probe.SnapshotAsync(_stack));
        Cli.SignalGroup(second.Id, Cli.SIGINT);
        Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        Assert.Empty(await _probe.ContainersAsync(_stack));
    }
}
