namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>
/// Base of tests that bring up a stack: a unique stack name and a free loopback port per test, and cleanup by label of that
/// stack (and of any other stack the test names) when the test ends, whether it passed or failed.
/// </summary>
public abstract class StackTest : IDisposable
{
    protected StackProbe Probe { get; } = new();
    protected string Stack { get; } = Ports.NewStackName();
    protected int Port { get; } = Ports.Free();
    /// <summary>Other stacks the test brought up; cleaned up too.</summary>
    protected List<string> OtherStacks { get; } = [];

    public void Dispose()
    {
        foreach (var stack in OtherStacks.Append(Stack)) Probe.CleanAsync(stack).GetAwaiter().GetResult();
        Probe.Dispose();
        DisposeMore();
        GC.SuppressFinalize(this);
    }

    /// <summary>Cleanup beyond the engine (files, folders).</summary>
    protected virtual void DisposeMore() { }
}
