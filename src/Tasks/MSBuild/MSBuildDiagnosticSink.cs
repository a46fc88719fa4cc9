using Microsoft.Build.Utilities;
using ProxyStack.Diagnostics;

namespace ProxyStack.MSBuild;

/// <summary>Maps core diagnostics to coded MSBuild log calls (the code comes from the resource's "STACKnnnn: " prefix).</summary>
internal static class MSBuildDiagnosticSink
{
    public static void Log(TaskLoggingHelper log, IEnumerable<Diagnostic> diagnostics)
    {
        foreach (var d in diagnostics) Log(log, d);
    }

    public static void Log(TaskLoggingHelper log, Diagnostic d)
    {
        if (d.IsError) log.LogErrorWithCodeFromResources(d.ResourceName, d.Args);
        else log.LogWarningWithCodeFromResources(d.ResourceName, d.Args);
    }
}
