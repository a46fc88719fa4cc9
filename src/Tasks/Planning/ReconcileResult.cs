using ProxyStack.Diagnostics;

namespace ProxyStack.Planning;

/// <summary>The reconciler's answer: the plan, what it keeps as it is, and any reason it refuses to plan.</summary>
internal sealed record ReconcileResult(Plan Plan, IReadOnlyList<string> Kept, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool HasErrors => Diagnostics.Any(d => d.IsError);
}
