namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>An IStackLog that keeps nothing, for tests that call the core directly (linked into both test projects).</summary>
internal sealed class NullStackLog : ProxyStack.Execution.IStackLog
{
    public void Milestone(string message) { }
    public void Step(string message) { }
    public void Progress(string message) { }
    public void Detail(string message) { }
    public void Warn(ProxyStack.Diagnostics.Diagnostic warning) { }
}
