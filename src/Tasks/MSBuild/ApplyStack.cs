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

    /// <summary>The project's UserSecretsId, if any: its secrets become the replicas' environment. Example: 8f3c…</summary>
    public string UserSecretsId { get; set; } = "";

    /// <summary>Example: http://127.0.0.1:8080</summary>
    [Output] public string StackUrl { get; set; } = "";

    private protected override string CancelledStackName => _stack;

    private protected override string ProfileLabel => "apply";

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var model = ReadModel(ModelFile);
        _stack = model.Name;
        if (model.Secrets.Count > 0)
        {
            // Before any engine call: an unavailable secret leaves everything as it was.
            var (values, problems) = SecretEnvironment.Resolve(model.Secrets, Environment.GetEnvironmentVariable, File.ReadAllText);
            MSBuildDiagnosticSink.Log(Log, problems);
            if (problems.Count > 0) return false;
            model = model with { Environment = model.Environment.Concat(values).OrderBy(e => e.Key, StringComparer.Ordinal).ToList() };
            StackLog.Step($"secret environment: {values.Count} value(s) read from their sources, passed to the replicas only");
        }
        if (ReadUserSecrets() is { Count: > 0 } secrets)
        {
            // In memory only: the model file on disk never holds secret values.
            model = model with { Environment = UserSecrets.Merge(secrets, model.Environment) };
            StackLog.Step($"user secrets: {secrets.Count} value(s) passed to the replicas as environment");
        }
        var config = await File.ReadAllTextAsync(ProxyConfigFile, ct).ConfigureAwait(false);
        using var _ = await StackLock.AcquireAsync(model.Name, StackLog, ct).ConfigureAwait(false);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var observed = await new StackObserver(Engine).ObserveAsync(model, [AppImage, model.NginxImage], ct).ConfigureAwait(false);
        StackLog.Detail($"profile: observe (listing, image ids, proxy config, ports) took {clock.ElapsedMilliseconds} ms");
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

    /// <summary>The secrets.json of <see cref="UserSecretsId"/>, where `dotnet user-secrets` keeps it on this OS.</summary>
    private IReadOnlyList<KeyValuePair<string, string>>? ReadUserSecrets()
    {
        if (string.IsNullOrWhiteSpace(UserSecretsId) || UserSecretsId.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0) return null;
        var root = OperatingSystem.IsWindows()
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "Microsoft", "UserSecrets")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".microsoft", "usersecrets");
        var file = Path.Combine(root, UserSecretsId, "secrets.json");
        return File.Exists(file) ? UserSecrets.ToEnvironment(File.ReadAllText(file)) : null;
    }
}
