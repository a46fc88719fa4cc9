namespace ProxyStack.Diagnostics;

/// <summary>
/// Carries a coded diagnostic out of the execution layer (engine boundary and plan execution). The pure core never throws it;
/// it exists so that a failure deep in an engine call reaches the task as the one diagnostic the user should see.
/// </summary>
internal sealed class StackException(Diagnostic diagnostic, Exception? inner = null) : Exception(diagnostic.Format(), inner)
{
    public Diagnostic Diagnostic { get; } = diagnostic;
}
