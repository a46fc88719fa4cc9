namespace ProxyStack.Engine;

/// <summary>A container stopped while we waited for it, with its exit code and last log lines.</summary>
internal sealed class ContainerExitedException(string name, long exitCode, string logs)
    : Exception($"Container '{name}' exited with code {exitCode}.")
{
    public string Name { get; } = name;
    public long ExitCode { get; } = exitCode;
    public string Logs { get; } = logs;
}
