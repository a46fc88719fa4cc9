using Microsoft.Build.Framework;
using ProxyStack.Execution;
using ProxyStack.Model;
using ProxyStack.Planning;

namespace ProxyStack.MSBuild;

/// <summary>
/// Brings the stack to its desired state: observe, reconcile, execute. Always runs (Docker state is never an MSBuild output);
/// for an unchanged stack the plan is empty and nothing is touched.
/// </summary>
public sealed class ApplyStack : StackTask
{
    private string _stack = "";

    /// <summary>Example: obj/Debug/net10.0/stack/model.json</summary>
    [Required] public string ModelFile { get; set; } = "";
    /// <summary>The app image PublishContainer produced. Example: hellostack:latest</summary>
    [Required] public string AppImage { get; set; } = "";
    /// <summary>Example: proxystack/hellostack-proxy:latest</summary>
    [Required] public string ProxyImage { get; set; } = "";
    /// <summary>Example: obj/Debug/net10.0/stack/nginx.conf</summary>
    [Required] public string ProxyConfigFile { get; set; } = "";

    /// <summary>Example: http://127.0.0.1:8080</summary>
    [Output] public string StackUrl { get; set; } = "";

    private protected override string CancelledStackName => _stack;

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var model = ReadModel(ModelFile);
        _stack = model.Name;
        var config = await File.ReadAllTextAsync(ProxyConfigFile, ct).ConfigureAwait(false);
        await Engine.PingAsync(ct).ConfigureAwait(false);
        using var _ = await StackLock.AcquireAsync(model.Name, StackLog, ct).ConfigureAwait(false);

        var observed = await new StackObserver(Engine).ObserveAsync(model, [AppImage, model.NginxImage], ct).ConfigureAwait(false);
        var result = Reconciler.Reconcile(model, observed, AppImage, ProxyImage, config);
        MSBuildDiagnosticSink.Log(Log, result.Diagnostics);
        if (result.HasErrors) return false;

        foreach (var name in result.Kept) StackLog.Step($"keep {name}: unchanged");
        if (result.Plan.IsEmpty) StackLog.Milestone(string.Format(Strings.StackUpToDate, model.Name));
        else
        {
            StackLog.Milestone(string.Format(Strings.StackPlanSummary, model.Name, result.Plan.Steps.Count));
            StackLog.Detail("Plan:\n" + result.Plan);
            await new PlanExecutor(Engine, StackLog).ExecuteAsync(result.Plan, model, ct).ConfigureAwait(false);
        }
        StackUrl = model.Url;
        StackLog.Milestone(string.Format(Strings.StackListening, model.Name, model.Replicas, model.Url));
        if (model.NetworkMode == StackNetworking.Host)
            StackLog.Milestone(string.Format(Strings.HostModeReplicas, model.Name, StackNetworking.ReplicaPort(model, 1), StackNetworking.ReplicaPort(model, model.Replicas)));
        return true;
    }
}
