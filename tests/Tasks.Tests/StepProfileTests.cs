using ProxyStack.Execution;
using ProxyStack.Planning;
using Xunit;

namespace ProxyStack.Tests;

public sealed class StepProfileTests
{
    private static TimeSpan Ms(int ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void Phases_are_wall_clock_spans_in_bring_up_order_with_their_step_counts()
    {
        var summary = StepProfile.Summarize(
        [
            ("readiness", Ms(300), Ms(900)), ("start", Ms(200), Ms(300)), ("network", Ms(0), Ms(100)),
            ("start", Ms(210), Ms(450)), ("readiness", Ms(450), Ms(1000)), ("proxy", Ms(1000), Ms(1500)),
        ], Ms(1600));
        Assert.Equal("network 100 ms · start 250 ms (2 steps) · readiness 700 ms (2 steps) · proxy 500 ms · total 1600 ms", summary);
    }

    [Theory]
    [InlineData(nameof(StepKind.CreateContainer), "s-app-1", "create")]
    [InlineData(nameof(StepKind.CreateContainer), "s-proxy", "proxy")]
    [InlineData(nameof(StepKind.StartContainer), "s-proxy", "proxy")]
    [InlineData(nameof(StepKind.WaitProxy), "s-proxy", "proxy")]
    [InlineData(nameof(StepKind.ReloadProxy), "s-proxy", "proxy")]
    [InlineData(nameof(StepKind.WaitReady), "s-app-2", "readiness")]
    [InlineData(nameof(StepKind.RetireContainer), "s-app-2", "retire")]
    [InlineData(nameof(StepKind.CreateNetwork), "s-net", "network")]
    public void Each_step_belongs_to_one_phase(string kind, string resource, string phase)
    {
        var step = new PlanStep(1, Enum.Parse<StepKind>(kind), resource, "missing", []);
        Assert.Equal(phase, StepProfile.PhaseOf(step, "s-proxy"));
    }
}

public class ProgressLineTests
{
    [Fact]
    public void A_bring_up_reports_the_network_each_replica_by_its_slot_and_the_proxy_with_their_times_and_nothing_else()
    {
        static string? Line(StepKind kind, string resource, double seconds) =>
            ProxyStack.Execution.PlanExecutor.ProgressLine(new PlanStep(1, kind, resource, "missing", []), TimeSpan.FromSeconds(seconds));
        Assert.Equal("network hello-net created (0.2 s)", Line(StepKind.CreateNetwork, "hello-net", 0.21));
        Assert.Equal("hello-app-2 ready (1.6 s)", Line(StepKind.WaitReady, "hello-app-2-joining", 1.649));
        Assert.Equal("hello-app-1 ready (12.0 s)", Line(StepKind.WaitReady, "hello-app-1", 12));
        Assert.Equal("proxy hello-proxy ready (0.4 s)", Line(StepKind.WaitProxy, "hello-proxy", 0.4));
        Assert.Equal("proxy hello-proxy reloaded (0.1 s)", Line(StepKind.ReloadProxy, "hello-proxy", 0.1));
        Assert.Null(Line(StepKind.CreateContainer, "hello-app-1-joining", 0.3));
        Assert.Null(Line(StepKind.AwaitResolver, "hello-proxy", 2));
    }
}
