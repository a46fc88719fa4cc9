using ProxyStack.Engine;
using ProxyStack.Execution;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>
/// The warm-up beside the build makes the observation's read-only requests early; it must change nothing, send no request
/// to an app, and never fail the build (the bring-up meets any engine failure again and reports it).
/// </summary>
public sealed class EngineWarmupTests
{
    [Fact]
    public async Task The_warm_up_only_reads_the_stack_and_probes_a_listener_of_its_own()
    {
        var model = Builders.Model(replicas: 2);
        var engine = new FakeEngine { Address = "10.9.9.9" }.Holding(Builders.Running(model, "config"));

        var probed = await EngineWarmup.RunAsync(engine, model, CancellationToken.None);

        Assert.True(probed);
        Assert.Equal([$"list {model.Name}", $"inspect image {Builders.AppImageId}"], engine.Calls.ToList());
        Assert.Empty(engine.Execs);
    }

    [Fact]
    public async Task A_stack_with_no_replica_yet_is_listed_and_nothing_more()
    {
        var model = Builders.Model();
        var engine = new FakeEngine();

        Assert.True(await EngineWarmup.RunAsync(engine, model, CancellationToken.None));

        Assert.Equal([$"list {model.Name}"], engine.Calls.ToList());
    }

    [Fact]
    public async Task An_engine_that_fails_or_cannot_be_made_never_fails_the_build()
    {
        var model = Builders.Model();

        await EngineWarmup.RunGuardedAsync(() => new ThrowingEngine(new EngineRequestException("list containers", "permission denied", conflict: false)), model);
        await EngineWarmup.RunGuardedAsync(() => throw new EngineEndpointException("tcp://", "no host"), model);
    }
}
