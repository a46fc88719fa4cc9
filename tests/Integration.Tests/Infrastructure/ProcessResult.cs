namespace ProxyStack.IntegrationTests.Infrastructure;

public sealed record ProcessResult(int ExitCode, string Output, TimeSpan Elapsed)
{
    /// <summary>
    /// The exit code, then the output's error and warning lines (a test runner may cut a long failure message, and a build's
    /// error comes last), then the whole output.
    /// </summary>
    public override string ToString()
    {
        var findings = Output.Split('\n').Where(l => l.Contains(": error ", StringComparison.Ordinal) || l.Contains(": warning STACK", StringComparison.Ordinal))
            .Select(l => l.Trim()).Distinct().ToList();
        return $"exit {ExitCode} after {Elapsed.TotalSeconds:0.0} s\n{(findings.Count > 0 ? string.Join("\n", findings) + "\n---\n" : "")}{Output}";
    }
}
