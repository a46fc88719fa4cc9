using Xunit;

namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>
/// Tests that must have the machine to themselves: they restart the engine (the engine-restart and Docker-Desktop-topology
/// tests), count failed requests under load, time events, pack the SDK from the repository's own build output, or signal
/// `dotnet run` at chosen moments. xUnit runs this collection after the parallel ones,
/// alone, one test after another.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IntegrationCollection : ICollectionFixture<SharedSample>
{
    public const string Name = "Integration";
}

/// <summary>
/// Stack tests that assert outcomes only (states, codes, answers), never rates or timing: they run one after another here,
/// beside <see cref="BuildsCollection"/> — the 2-core machine spends much of a stack test waiting on containers.
/// </summary>
[CollectionDefinition(Name)]
public sealed class StacksCollection : ICollectionFixture<SharedSample>
{
    public const string Name = "Integration.Stacks";
}

/// <summary>
/// Tests dominated by project builds (templates, the published manifests, the shared key ring): beside
/// <see cref="StacksCollection"/>. The two lanes are balanced by their summed test time, so that neither runs long alone
/// after the other has ended: the error, secrets and proxy-feature tests (outcomes only; the event-stream check is causal,
/// not timed) sit with the stacks for that. Measured in the full run of 2026-12-07 15:06: this lane's tests summed 983 s and
/// the stacks' 870 s; moving the proxy tests (58 s) made them about 925 s and 928 s.
/// </summary>
[CollectionDefinition(Name)]
public sealed class BuildsCollection : ICollectionFixture<SharedSample>
{
    public const string Name = "Integration.Builds";
}

/// <summary>One copy of the sample shared by the tests of a collection that do not edit it; each test uses its own StackName.</summary>
public sealed class SharedSample : IDisposable
{
    public SampleCopy Sample { get; } = new();
    public void Dispose() => Sample.Dispose();
}
