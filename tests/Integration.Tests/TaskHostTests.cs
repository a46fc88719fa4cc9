using System.Text.RegularExpressions;
using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// Visual Studio's MSBuild runs on .NET Framework and cannot load the .NET task assembly in its own process. From MSBuild 18 it
/// runs it in a .NET task host process, and that is what the SDK asks for there; older Framework MSBuild gets STACK1047. Here
/// `_StackMSBuildRuntimeType=Full` (and `_StackMSBuildVersion`) stand in for MSBuild's own properties, so .NET MSBuild takes the
/// Framework path: every task runs in the same out-of-process .NET task host Visual Studio starts, and must work there — its
/// parameters cross a process boundary, its messages and coded errors are forwarded, and it keeps no state between tasks.
/// (`dotnet run` on that path: <see cref="DotnetRunTests"/>' SIGTERM test.)
/// </summary>
[Collection(StacksCollection.Name)]
public sealed class TaskHostTests(SharedSample shared) : StackTest
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private Dictionary<string, string> Props(params (string Key, string Value)[] more)
    {
        var props = new Dictionary<string, string> { ["StackName"] = Stack, ["StackHostPort"] = Port.ToString(), ["StackReplicas"] = "2", ["_StackMSBuildRuntimeType"] = "Full" };
        foreach (var (k, v) in more) props[k] = v;
        return props;
    }

    /// <summary>The tasks the output says ran in an external .NET task host, and those it says ran in MSBuild's own process.</summary>
    private static (HashSet<string> OutOfProcess, HashSet<string> InProcess) WhereTasksRan(string output) => (
        Regex.Matches(output, "Launching task \"(\\w+)\" from assembly \"[^\"]*ProxyStack\\.Tasks\\.dll\" in an external task host with a runtime of \"NET\"").Select(m => m.Groups[1].Value).ToHashSet(),
        Regex.Matches(output, "Using \"(\\w+)\" task from assembly \"[^\"]*ProxyStack\\.Tasks\\.dll\"").Select(m => m.Groups[1].Value)
            .Where(t => !Regex.IsMatch(output, $"Launching task \"{t}\" from assembly")).ToHashSet());

    [DockerFact]
    public async Task On_Framework_MSBuild_every_task_runs_in_a_NET_task_host_and_StackUp_errors_and_StackDown_work_there()
    {
        // Before MSBuild 18, no task loads: STACK1047 says what to use instead, and nothing is touched.
        var old = await shared.Sample.BuildAsync("StackUp", Props(("_StackMSBuildVersion", "17.14.8")));
        Assert.NotEqual(0, old.ExitCode);
        Assert.Contains("error STACK1047: ProxyStack's tasks run on .NET, and MSBuild 17.14.8 on .NET Framework cannot host them", old.Output);
        Assert.Contains("Visual Studio 2026 or later", old.Output);
        Assert.DoesNotContain("MSB4062", old.Output);
        Assert.Empty(await Probe.ContainersAsync(Stack));

        // A coded error raised in the task host arrives as itself: no MSB4018, no stack trace.
        var bad = await shared.Sample.BuildAsync("StackUp", Props(("StackReplicas", "0")));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("error STACK1003", bad.Output);
        Assert.DoesNotContain("MSB4018", bad.Output);
        Assert.DoesNotContain("   at ", bad.Output);

        var up = await shared.Sample.BuildAsync("StackUp", Props(), verbosity: "d");
        Assert.True(up.ExitCode == 0, up.ToString());
        var (outOfProcess, inProcess) = WhereTasksRan(up.Output);
        Assert.Contains("ComputeStackModel", outOfProcess);
        Assert.Contains("ApplyStack", outOfProcess);
        Assert.Contains("ProbeStackEngine", outOfProcess);
        Assert.Empty(inProcess);
        Assert.Contains($"Stack '{Stack}': 2 replica(s) behind nginx at http://127.0.0.1:{Port}", up.Output);
        Assert.Equal("hello world\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        Assert.Equal(3, (await Probe.ContainersAsync(Stack)).Count);

        var down = await shared.Sample.BuildAsync("StackDown", Props(), verbosity: "d");
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Contains("RemoveStack", WhereTasksRan(down.Output).OutOfProcess);
        Assert.Contains($"Stack '{Stack}': removed", down.Output);
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }
}
