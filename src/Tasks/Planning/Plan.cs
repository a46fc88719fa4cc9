namespace ProxyStack.Planning;

/// <summary>An ordered list of steps. <see cref="ToString"/> prints one stable line per step, for logs and golden tests.</summary>
internal sealed record Plan(IReadOnlyList<PlanStep> Steps)
{
    public static readonly Plan Empty = new([]);

    public bool IsEmpty => Steps.Count == 0;

    public override string ToString() => string.Join("\n", Steps.Select(s => s.ToString()));
}
