using Xunit;

namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>
/// All integration tests run one after the other: they build projects and start containers on a 2-core machine, and the
/// load tests measure failed requests, which parallel builds would disturb.
/// </summary>
[CollectionDefinition(Name)]
public sealed class IntegrationCollection : ICollectionFixture<SharedSample>
{
    public const string Name = "Integration";
}

/// <summary>One copy of the sample shared by the tests that do not edit it; each test uses its own StackName.</summary>
public sealed class SharedSample : IDisposable
{
    public SampleCopy Sample { get; } = new();
    public void Dispose() => Sample.Dispose();
}
