using System.Collections;
using ProxyStack.Runner;
using Xunit;

namespace ProxyStack.Tests;

public class StackRunnerTests
{
    [Theory]
    // dotnet watch 10.0.401 with Hot Reload: DOTNET_WATCH=1, and its delta applier mapped into the runner (read from
    // /proc/<pid>/maps on this machine, beside Microsoft.AspNetCore.Watch.BrowserRefresh).
    [InlineData("1", "Microsoft.Extensions.DotNetDeltaApplier", true)]
    // dotnet watch --no-hot-reload: no hook; it restarts the process on every change, which does redeploy the stack.
    [InlineData("1", null, false)]
    // A plain dotnet run.
    [InlineData(null, null, false)]
    public void Dotnet_watch_with_hot_reload_is_recognised_so_the_run_can_say_that_edits_do_not_reach_the_replicas(string? watch, string? hook, bool expected)
    {
        var environment = new Hashtable();
        if (watch is not null) environment["DOTNET_WATCH"] = watch;
        string?[] loaded = hook is null ? ["System.Private.CoreLib", "ProxyStack.Tasks"] : ["System.Private.CoreLib", hook, "ProxyStack.Tasks"];
        Assert.Equal(expected, StackRunner.UnderHotReload(environment, loaded));
    }

    [Fact]
    public void Only_the_first_run_under_a_dotnet_watch_process_explains_why_it_ends()
    {
        var stackDirectory = Directory.CreateTempSubdirectory("stack-").FullName;
        try
        {
            Assert.True(StackRunner.FirstRunOf(Environment.ProcessId, stackDirectory));
            Assert.False(StackRunner.FirstRunOf(Environment.ProcessId, stackDirectory));
            // Another watch (pid 1 stands for one here): explained again, and then the first one is new again too.
            Assert.True(StackRunner.FirstRunOf(1, stackDirectory));
            Assert.False(StackRunner.FirstRunOf(1, stackDirectory));
            Assert.True(StackRunner.FirstRunOf(Environment.ProcessId, stackDirectory));
        }
        finally { Directory.Delete(stackDirectory, recursive: true); }
    }
}
