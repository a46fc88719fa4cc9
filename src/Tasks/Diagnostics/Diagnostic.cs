namespace ProxyStack.Diagnostics;

/// <summary>A finding of the pure core. The task adapter decides how to log it (see MSBuildDiagnosticSink).</summary>
/// <param name="Code">Stable code, e.g. STACK1003.</param>
/// <param name="Severity">Error or warning.</param>
/// <param name="ResourceName">Name of the Strings.resx entry whose value starts with <paramref name="Code"/>.</param>
/// <param name="Args">Format arguments of that entry.</param>
internal sealed record Diagnostic(string Code, DiagnosticSeverity Severity, string ResourceName, params object[] Args)
{
    public static Diagnostic Error(string resourceName, params object[] args) =>
        new(CodeOf(resourceName), DiagnosticSeverity.Error, resourceName, args);

    public static Diagnostic Warning(string resourceName, params object[] args) =>
        new(CodeOf(resourceName), DiagnosticSeverity.Warning, resourceName, args);

    public bool IsError => Severity == DiagnosticSeverity.Error;

    /// <summary>The code belonging to a resource name: the constant of the same name in <see cref="DiagnosticCodes"/>.</summary>
    public static string CodeOf(string resourceName) =>
        typeof(DiagnosticCodes).GetField(resourceName)?.GetValue(null) as string
        ?? throw new ArgumentException($"No diagnostic code is declared for resource '{resourceName}'.", nameof(resourceName));

    /// <summary>The message as the user sees it (code prefix included).</summary>
    public string Format() =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture,
            Resources.Strings.ResourceManager.GetString(ResourceName, System.Globalization.CultureInfo.InvariantCulture)!, Args);

    public override string ToString() => Format();
}
