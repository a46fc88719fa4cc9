using Microsoft.Build.Framework;
using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Execution;
using ProxyStack.Manifests;
using ProxyStack.Model;
using ProxyStack.Proxy;

namespace ProxyStack.MSBuild;

/// <summary>
/// StackDeploy with StackTarget=swarm: pushes the app images this build produced to StackRegistry, then creates or updates the
/// stack's services on the swarm the engine manages (see <see cref="SwarmDeployer"/>). Every check that can fail — the target,
/// the network mode, the registry, the engine's swarm role, the pushes — runs before any service changes.
/// </summary>
public sealed class DeployStackToSwarm : StackTask
{
    /// <summary>Example: obj/Debug/net10.0/stack/model.json</summary>
    [Required] public string ModelFile { get; set; } = "";
    /// <summary>The front project's image this build produced, by id (required unless <see cref="CheckOnly"/>). Example: sha256:3f1c…</summary>
    public string AppImage { get; set; } = "";
    /// <summary>Only the checks that need no image (target, network mode, registry, the engine's swarm role), before the build: its errors, no warnings.</summary>
    public bool CheckOnly { get; set; }
    /// <summary>Each StackProject's image: Include is the project's name, metadata Image its id. Example: api</summary>
    public ITaskItem[] ProjectImages { get; set; } = [];
    /// <summary>The nginx version of StackNginxImage (from InspectStackProxyBase; empty: unknown). Example: 1.30.6</summary>
    public string NginxVersion { get; set; } = "";
    /// <summary>The project's UserSecretsId, if any. Example: 8f3c…</summary>
    public string UserSecretsId { get; set; } = "";
    /// <summary>StackRegistry: where the app images are pushed for every node to pull. Example: registry.example.com:5000</summary>
    public string Registry { get; set; } = "";

    private protected override string? StackDirectory => Path.GetDirectoryName(Path.GetFullPath(ModelFile));

    private protected override string ProfileLabel => "deploy";

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var model = ReadModel(ModelFile) with { NginxVersion = NginxVersion };
        var problems = StackWorkloads.Check(model, StackTargets.Swarm, accepted: [StackTargets.Swarm]).ToList();
        if (Registry.Trim().Length == 0) problems.Add(Diagnostic.Error(nameof(Strings.StackRegistryMissing)));
        MSBuildDiagnosticSink.Log(Log, CheckOnly ? problems.Where(p => p.IsError).ToList() : problems);
        if (problems.Any(p => p.IsError)) return false;
        if (Engine is not DockerEngine engine) throw new InvalidOperationException("StackDeploy needs a Docker engine.");
        var (state, manager) = await engine.SwarmStateAsync(ct).ConfigureAwait(false);
        if (state != "active" || !manager)
        {
            MSBuildDiagnosticSink.Log(Log, Diagnostic.Error(nameof(Strings.EngineNotSwarmManager), engine.Endpoint, manager ? state : state == "active" ? "a worker" : state));
            return false;
        }
        if (CheckOnly) return true;
        if (AppImage.Length == 0) throw new InvalidOperationException("DeployStackToSwarm needs AppImage.");
        var secrets = new StackSecrets(Log, StackLog, ModelFile);
        if (secrets.Resolve(model, UserSecretsId, ProjectImages) is not { } withSecrets) return false;
        var published = StackWorkloads.ForTarget(withSecrets, StackTargets.Swarm);

        // The images every node pulls: tagged with their id in the stack's repositories, pushed before anything changes.
        var images = new Dictionary<string, string>(StringComparer.Ordinal) { [""] = AppImage };
        foreach (var item in ProjectImages) images[item.ItemSpec] = item.GetMetadata("Image");
        var pushed = new Dictionary<string, string>(StringComparer.Ordinal);
        // Images on a chiseled base have no shell to run the health check with: their tasks count as ready once started.
        var withoutShell = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (project, id) in images)
        {
            var set = project.Length == 0 ? published : published.ForProject(published.Projects.Single(p => p.Name == project));
            var reference = SwarmServices.PushedImage(Registry.Trim(), published, StackTargets.ReplicaService(set), id);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            if (await engine.PushAsync(id, reference, ct).ConfigureAwait(false) is { } why)
            {
                MSBuildDiagnosticSink.Log(Log, Diagnostic.Error(nameof(Strings.ImagePushFailed), reference, why));
                return false;
            }
            StackLog.Progress($"pushed {reference} ({clock.Elapsed.TotalSeconds:0.0} s)");
            pushed[project] = reference;
            if (await engine.InspectImageAsync(id, ct).ConfigureAwait(false) is { } image
                && image.Labels.TryGetValue("org.opencontainers.image.base.name", out var baseName) && baseName.Contains("chiseled", StringComparison.Ordinal))
                withoutShell.Add(reference);
        }
        var workloads = StackWorkloads.Build(published, pushed[""], pushed.Where(p => p.Key.Length > 0).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));
        var config = NginxConfigWriter.Write(published);
        using var _ = await StackLock.AcquireAsync("swarm-" + model.Name, StackLog, TimeSpan.FromSeconds(model.LockTimeoutSeconds), ct).ConfigureAwait(false);
        // A database's password changed while its volume is kept reaches the replicas, not the server: as StackUp, warned
        // from the settings of the last successful StackDeploy. Its volumes are on the manager nodes (SwarmServices
        // .VolumeConstraint); this engine is one, and with one manager (the usual swarm) it sees every one of them. A stack
        // without such a container costs no request.
        var firstStartFile = FirstStartSettings.StampFile(StackDirectory!, "swarm-" + model.Name);
        var existingVolumes = FirstStartSettings.Applies(published)
            ? await engine.ListVolumesAsync(SwarmServices.StackLabel, model.Name, ct).ConfigureAwait(false) : [];
        var (firstStart, firstStartChanged) = FirstStartSettings.Check(published, secrets.Salt, firstStartFile, existingVolumes, swarm: true);
        MSBuildDiagnosticSink.Log(Log, firstStartChanged);
        var clockAll = System.Diagnostics.Stopwatch.StartNew();
        var failed = await new SwarmDeployer(engine, StackLog).DeployAsync(published, workloads, config, withoutShell, ct).ConfigureAwait(false);
        MSBuildDiagnosticSink.Log(Log, failed);
        if (failed.Count > 0) return false;
        if (firstStart is not null) FirstStartSettings.Save(firstStartFile, firstStart);
        foreach (var reference in pushed.Values) await engine.UntagEarlierPushesAsync(reference, ct).ConfigureAwait(false);
        StackLog.Milestone(string.Format(System.Globalization.CultureInfo.InvariantCulture, Strings.SwarmDeployed, model.Name,
            string.Join(", ", workloads.Select(w => $"{SwarmServices.ServiceName(published, w.Name)} {(w.Kind == WorkloadKind.Proxy ? "on every node" : $"×{w.Replicas}")}")), model.HostPort)
            + $" ({clockAll.Elapsed.TotalSeconds:0.0} s)");
        return true;
    }
}
