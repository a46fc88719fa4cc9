namespace ProxyStack.Diagnostics;

internal enum DiagnosticSeverity
{
    Warning,
    Error,
}
