using ProxyStack.Diagnostics;

namespace ProxyStack.Model;

/// <summary>
/// Where a secret StackEnvironment value comes from: a variable of the build's own environment, or a file. Only the source
/// is an MSBuild item (and so visible in diagnostic logs and binlogs); the value is read by ApplyStack at the moment the
/// containers are created, and goes nowhere but the engine.
/// </summary>
/// <param name="Name">The variable the replicas see. Example: ConnectionStrings__Db</param>
/// <param name="FromEnvironment">A variable of the build's environment. Example: ORDERS_DB</param>
/// <param name="FromFile">An absolute file path whose content is the value. Example: /run/secrets/orders-db</param>
internal sealed record SecretSource(string Name, string FromEnvironment, string FromFile)
{
    public string Describe() => FromEnvironment.Length > 0 ? $"environment variable '{FromEnvironment}'" : $"file '{FromFile}'";
}

internal static class SecretEnvironment
{
    /// <summary>
    /// Reads every source. A file's content is taken as is, minus one trailing line break (files written by echo or an
    /// editor end with one). Values are never part of a diagnostic; an unavailable source is an error naming the item.
    /// </summary>
    public static (IReadOnlyList<KeyValuePair<string, string>> Values, IReadOnlyList<Diagnostic> Diagnostics) Resolve(
        IReadOnlyList<SecretSource> sources, Func<string, string?> getEnvironment, Func<string, string> readFile)
    {
        var values = new List<KeyValuePair<string, string>>();
        var diagnostics = new List<Diagnostic>();
        foreach (var s in sources)
        {
            if (s.FromEnvironment.Length > 0)
            {
                if (getEnvironment(s.FromEnvironment) is { } v) values.Add(new(s.Name, v));
                else diagnostics.Add(Diagnostic.Error(nameof(Strings.SecretUnavailable), s.Name, s.Describe(), "it is not set in the build's environment"));
                continue;
            }
            try
            {
                values.Add(new(s.Name, TrimOneLineBreak(readFile(s.FromFile))));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                diagnostics.Add(Diagnostic.Error(nameof(Strings.SecretUnavailable), s.Name, s.Describe(),
                    e is FileNotFoundException or DirectoryNotFoundException ? "it does not exist" : e.Message));
            }
        }
        return (values, diagnostics);
    }

    private static string TrimOneLineBreak(string s) =>
        s.EndsWith("\r\n", StringComparison.Ordinal) ? s[..^2] : s.EndsWith('\n') ? s[..^1] : s;
}
