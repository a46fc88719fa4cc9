namespace ProxyStack.Execution;

/// <summary>A container never answered its readiness probe in time.</summary>
internal sealed class ReadinessTimeoutException(string name, string target, int seconds, string lastResult, string logs)
    : Exception($"'{name}' did not answer {target} within {seconds} s.")
{
    public string Name { get; } = name;
    public string Target { get; } = target;
    public int Seconds { get; } = seconds;
    public string LastResult { get; } = lastResult;
    public string Logs { get; } = logs;
}
