using ProxyStack.Execution;
using Xunit;

namespace ProxyStack.Tests;

public class RunOwnerTests
{
    // The process tree of `dotnet watch --no-hot-reload run` on this machine (10.0.401), read from /proc while it ran:
    // 40 runner ← 30 dotnet run ← 20 dotnet-watch.dll ← 10 dotnet watch ← 5 bash.
    private static readonly Dictionary<int, (int Parent, string[] Args)> Tree = new()
    {
        [40] = (30, ["/usr/share/dotnet/dotnet", "exec", "/src/ProxyStack.Tasks.dll", "run", "/p/obj/stack/model.json"]),
        [30] = (20, ["/usr/share/dotnet/dotnet", "run"]),
        [20] = (10, ["/usr/share/dotnet/dotnet", "/usr/share/dotnet/sdk/10.0.401/DotnetTools/dotnet-watch/10.0.401/tools/net10.0/any/dotnet-watch.dll", "--no-hot-reload", "run"]),
        [10] = (5, ["dotnet", "watch", "--no-hot-reload", "run"]),
        [5] = (1, ["bash"]),
    };

    private static int Find(int self) =>
        RunOwner.Find(self, pid => Tree.TryGetValue(pid, out var p) ? p.Parent : 0, pid => Tree.TryGetValue(pid, out var p) ? p.Args : []);

    [Fact]
    public void Under_dotnet_watch_the_run_belongs_to_the_outermost_watch_process_from_the_build_and_from_the_runner()
    {
        Assert.Equal(10, Find(30));
        Assert.Equal(10, Find(40));
    }

    [Fact]
    public void Without_a_watch_process_above_it_the_run_belongs_to_the_process_itself()
    {
        Assert.Equal(5, Find(5));
        // A parent that cannot be read ends the walk.
        Assert.Equal(99, Find(99));
    }

    [Theory]
    [InlineData(true, "dotnet", "watch", "run")]
    [InlineData(true, "/usr/bin/dotnet", "/x/dotnet-watch.dll")]
    [InlineData(false, "dotnet", "run")]
    [InlineData(false, "dotnet", "exec", "watch.dll")]
    public void Dotnet_watch_is_recognised_by_its_command_line(bool expected, params string[] args) =>
        Assert.Equal(expected, RunOwner.IsDotnetWatch(args));
}
