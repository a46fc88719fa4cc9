namespace ProxyStack.Execution;

/// <summary>A container never answered its readiness probe in time (Target: the address asked, or a backing container's ReadyWhen rule).</summary>
internal sealed class ReadinessTimeoutException(string name, string target, int seconds, string lastResult, string logs)
    : Exception($"'{name}' did not answer {target} within {seconds} s.")
{
    public string Name { get; } = name;
    public string Target { get; } = target;
    public int Seconds { get; } = seconds;
    public string LastResult { get; } = lastResult;
    public string Logs { get; } = logs;
}

/// <summary>A replica that answers its strict health path with "not found" for <see cref="ReadinessWaiter.SteadyNotFoundTime"/>.</summary>
internal sealed class HealthPathNotServedException(string name, string path, string answer, int seconds)
    : Exception($"'{name}' answers GET {path} with {answer}.")
{
    public string Name { get; } = name;
    public string Path { get; } = path;
    public string Answer { get; } = answer;
    public int Seconds { get; } = seconds;
}

/// <summary>An app replica that started and listens only where nginx cannot reach it (<see cref="KestrelAddresses"/>).</summary>
internal sealed class AppListensElsewhereException(string name, int port, IReadOnlyList<string> urls)
    : Exception($"'{name}' listens on {string.Join(", ", urls)}, not on port {port} of its network address.")
{
    public string Name { get; } = name;
    public int Port { get; } = port;
    public IReadOnlyList<string> Urls { get; } = urls;
}
