using System.Text.Json;
using Microsoft.Build.Framework;
using ProxyStack.Diagnostics;
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
    /// <summary>
    /// The app image this build produced, by id, so a tag moved by a concurrent build is never deployed.
    /// Example: sha256:3f1c… (a reference such as hellostack:latest is accepted too)
    /// </summary>
    public string AppImage { get; set; } = "";
    /// <summary>Each StackProject's image this build produced: Include is the project's name, metadata Image its id and Stamp its stamp's full path. Example: api</summary>
    public ITaskItem[] ProjectImages { get; set; } = [];
    /// <summary>The proxy image this build produced, by id. Example: sha256:9ab2…</summary>
    [Required] public string ProxyImage { get; set; } = "";
    /// <summary>Example: obj/Debug/net10.0/stack/nginx.conf</summary>
    [Required] public string ProxyConfigFile { get; set; } = "";

    /// <summary>The nginx version of the proxy's base image (from InspectStackProxyBase; empty: unknown). Example: 1.30.6</summary>
    public string NginxVersion { get; set; } = "";

    /// <summary>The project's UserSecretsId, if any: its secrets become the replicas' environment. Example: 8f3c…</summary>
    public string UserSecretsId { get; set; } = "";

    /// <summary>Example: http://127.0.0.1:8080</summary>
    [Output] public string StackUrl { get; set; } = "";

    /// <summary>
    /// With StackAppOnHost: the app on the host's command-line arguments — where it must listen for nginx to reach it, and
    /// the addresses of the StackProjects it depends on, through nginx. Example:
    /// --urls "http://127.0.0.1:8081;http://172.17.0.1:8081" --services:api:http:0=http://127.0.0.1:8080/api
    /// </summary>
    [Output] public string AppOnHostArguments { get; set; } = "";

    /// <summary>
    /// With StackAppOnHost under `dotnet run` on a Unix terminal: the file the bring-up's progress lines wait in
    /// (<see cref="Execution.RunProgress"/>). The foreground program is the app itself, which knows nothing of them, so the run
    /// command prints them first (Sdk.targets). Empty elsewhere. Example: /src/HelloStack/obj/Debug/net10.0/stack/run-progress.txt
    /// </summary>
    [Output] public string AppOnHostProgressFile { get; set; } = "";

    /// <summary>Whether `dotnet run` runs this bring-up: its build prints no message, so progress goes to the console too.</summary>
    public bool UnderRun { get; set; }

    private protected override bool ProgressToConsole => UnderRun;

    private protected override string? StackDirectory => Path.GetDirectoryName(Path.GetFullPath(ModelFile));

    /// <summary>The app image's stamp (reference, id): under `dotnet run`, a stamp this process did not write means the image was up to date.</summary>
    public string AppImageStamp { get; set; } = "";

    private protected override string CancelledStackName => _stack;

    private protected override string ProfileLabel => "apply";

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var model = ReadModel(ModelFile) with { NginxVersion = NginxVersion };
        _stack = model.Name;
        StackLog.Detail(EngineWarmup.TookMs is { } warm ? $"profile: engine warm-up beside the build took {warm} ms" : "profile: engine warm-up still running (or none ran)");
        // RecordStackAppImage said "built" if this run published the image; a stamp older than this process: up to date. The
        // front project's image, then each StackProject's (its stamp in its own folder).
        if (UnderRun)
        {
            using var self = System.Diagnostics.Process.GetCurrentProcess();
            foreach (var stamp in ProjectImages.Select(i => i.GetMetadata("Stamp")).Prepend(AppImageStamp))
                if (File.Exists(stamp) && File.GetLastWriteTimeUtc(stamp) < self.StartTime.ToUniversalTime())
                    StackLog.Progress($"app image {File.ReadLines(stamp).FirstOrDefault()} up to date");
        }
        // Before any engine call: an unavailable secret leaves everything as it was.
        var secrets = new StackSecrets(Log, StackLog, ModelFile);
        if (secrets.Resolve(model, UserSecretsId, ProjectImages) is not { } withSecrets) return false;
        model = withSecrets;
        if (model.HttpsPort > 0)
        {
            // Before any engine call too: a missing or mismatched certificate leaves everything as it was.
            var (tls, problem) = TlsFiles.Load(model, StackDirectory!);
            if (problem is not null)
            {
                MSBuildDiagnosticSink.Log(Log, [problem]);
                return false;
            }
            model = model with { Tls = tls };
            StackLog.Step($"HTTPS on {model.HttpsUrl} with {tls}");
        }
        var config = await File.ReadAllTextAsync(ProxyConfigFile, ct).ConfigureAwait(false);
        if (!await PullServiceImagesAsync(model, ct).ConfigureAwait(false)) return false;
        // The app on this host is reached elsewhere from a rootless engine's containers (StackNetworking.HostGateway).
        if (model.AppOnHostPort > 0 && await Engine.IsRootlessAsync(ct).ConfigureAwait(false)) model = model with { EngineRootless = true };
        using var _ = await StackLock.AcquireAsync(model.Name, StackLog, TimeSpan.FromSeconds(model.LockTimeoutSeconds), ct).ConfigureAwait(false);

        if (UnderRun)
        {
            // A marker an earlier run left (its last Ctrl-C reached `dotnet run` too) means nothing to this one, whether or
            // not this stack is kept. A Ctrl-C from here on that the bring-up does not see in time (it lands after the last
            // step, as the task returns) would reach only `dotnet run`: noted for the foreground program (see RunInterrupt),
            // which with the app on the host is the app itself.
            RunInterrupt.Clear(ModelFile);
            if (model.AppOnHostPort == 0) RunInterrupt.Arm(ModelFile);
        }
        // The process whose end ends the stack: dotnet watch's when it restarts this run on every save (see RunOwner).
        var build = BuildProcessId;
        var runOwner = model.Ephemeral ? RunOwner.Find(build) : build;
        var underWatch = runOwner != build;
        if (model.Ephemeral) StartReaper(model, build, runOwner);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Replicas are probed from inside the stack's network (the host may have no route to container addresses).
        await using var relay = new ProbeRelay(Engine, StackLog, model, ProxyImage);
        var observer = new StackObserver(Engine, StackLog, relay);
        var projectImages = ProjectImages.ToDictionary(i => i.ItemSpec, i => i.GetMetadata("Image"), StringComparer.Ordinal);
        string[] images = [.. AppImage.Length > 0 ? [AppImage] : Array.Empty<string>(), model.NginxImage, .. model.Services.Select(sv => sv.Image), .. projectImages.Values];
        var observed = await observer.ObserveAsync(model, images, ct).ConfigureAwait(false);
        StackLog.Detail($"profile: observe (listing, image ids, proxy config, ports, readiness) took {clock.ElapsedMilliseconds} ms");
        // A swarm node's DNS lags behind its containers (docs/networking.md): say so where replicas change hands through it.
        if (observed.Dns == ProxyStack.Engine.EngineDns.SwarmNode)
            StackLog.Warn(Diagnostic.Warning(nameof(Strings.EngineIsSwarmNode), Engine.Endpoint));
        if (model.Adopt && Reconciler.OtherOwner(model, observed) is { } owner)
        {
            // StackAdopt: the other checkout's stack goes first (its containers cannot be kept: they carry its owner).
            StackLog.Milestone($"Stack '{model.Name}': removing the stack of '{owner}' (StackAdopt is true).");
            // The relay (if the observation started one) is labelled with the stack, so the teardown below would take it.
            await relay.CloseAsync().ConfigureAwait(false);
            // Its key ring too: it holds the other checkout's keys and carries its owner.
            var (_, failures) = await StackTeardown.RunAsync(Engine, StackLog, model.Name, owner: null, model.ProjectFile, ct, removeVolumes: true).ConfigureAwait(false);
            MSBuildDiagnosticSink.Log(Log, failures);
            if (failures.Count > 0) return false;
            observed = await observer.ObserveAsync(model, images, ct).ConfigureAwait(false);
        }
        var result = Reconciler.Reconcile(model, observed, AppImage, ProxyImage, config, projectImages);
        MSBuildDiagnosticSink.Log(Log, result.Diagnostics);
        if (result.HasErrors) return false;
        // A database's password (its user, its database) changed while its volume is kept reaches the replicas, not the server.
        var firstStartFile = FirstStartSettings.StampFile(StackDirectory!, model.Name);
        var (firstStart, firstStartChanged) = FirstStartSettings.Check(model, secrets.Salt, firstStartFile, observed.Volumes.Select(v => v.Name));
        MSBuildDiagnosticSink.Log(Log, firstStartChanged);

        foreach (var name in result.Kept) StackLog.Step($"keep {name}: unchanged{(name == model.ProxyName ? "" : ", ready")}");
        if (result.Plan.IsEmpty) StackLog.Milestone(string.Format(Strings.StackUpToDate, model.Name));
        else
        {
            StackLog.Milestone(string.Format(Strings.StackPlanSummary, model.Name, result.Plan.Steps.Count));
            StackLog.Detail("Plan:\n" + result.Plan);
            // Host mode binds this machine's loopback only if the engine's host network is this machine's: asked, not assumed.
            if (model.Network.OnHostNetwork && result.Plan.Steps.Any(s => s.Kind == StepKind.CreateContainer))
                await HostNetworkCheck.RunAsync(Engine, StackLog, model, model.NginxImage, ct).ConfigureAwait(false);
            // Ended by dotnet watch for its next run, the rollback must be over before watch's kill (PlanExecutor.LeaveToNextRun).
            await new PlanExecutor(Engine, StackLog, relay) { LeaveToNextRun = () => underWatch && Exiting }
                .ExecuteAsync(result.Plan, model, ct).ConfigureAwait(false);
            StackLog.Progress($"applied in {clock.Elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s");
        }
        if (firstStart is not null) FirstStartSettings.Save(firstStartFile, firstStart);
        StackUrl = model.ServedUrl;
        if (model.AppOnHostPort > 0)
        {
            var localGateway = StackNetworking.LocalGateway(model, await Engine.HostGatewayAsync(ct).ConfigureAwait(false), Execution.MachineAddresses.Own.Contains);
            // Before the app starts, nginx's way to it is tried: a firewall or a rootless engine would make every request a 502.
            var addresses = StackNetworking.AppOnHostAddresses(localGateway);
            if (await Execution.AppOnHostReach.CheckAsync(model, addresses, ct).ConfigureAwait(false) is false)
            {
                MSBuildDiagnosticSink.Log(Log, [Execution.AppOnHostReach.Unreachable(model, addresses)]);
                return false;
            }
            AppOnHostArguments = StackNetworking.AppOnHostArguments(model, localGateway);
            foreach (var service in BackingServices.WiredTo(model.Services, model.AppDependsOn))
                StackLog.Milestone(string.Format(Strings.AppOnHostWithoutService, model.Name, service.Name, service.EnvironmentName));
        }
        // Under `dotnet run` the foreground program prints this line (with "press Ctrl-C to stop"): the build log only. With
        // the app on the host the foreground program is the app itself, so the bring-up says where it is served.
        if (UnderRun && model.AppOnHostPort > 0) StackLog.Milestone(model.ListeningLine);
        else Log.LogMessage(MessageImportance.High, model.ListeningLine);
        if (UnderRun && model.AppOnHostPort > 0 && Execution.RunProgress.Deferred && !OperatingSystem.IsWindows())
            AppOnHostProgressFile = Execution.RunProgress.PathIn(StackDirectory!);
        foreach (var line in model.ProjectLines) Log.LogMessage(MessageImportance.High, line);
        if (model.HttpsUrl is { } https && !model.HttpsRedirect) StackLog.Milestone($"Stack '{model.Name}': also at {https}");
        if (model.Network.OnHostNetwork)
            StackLog.Milestone(string.Format(Strings.HostModeReplicas, model.Name, StackNetworking.ReplicaPort(model, 1), StackNetworking.ReplicaPort(model, model.Replicas)));
        return true;
    }

    /// <summary>
    /// The backing containers' images, pulled when the engine lacks them (before the lock and before anything changes): an
    /// image no registry gives is STACK2001 naming it, with the stack as it was.
    /// </summary>
    private async Task<bool> PullServiceImagesAsync(StackModel model, CancellationToken ct)
    {
        foreach (var image in model.Services.Select(sv => sv.Image).Distinct(StringComparer.Ordinal))
        {
            var (_, failure) = await ProxyStack.Engine.EnginePull.EnsureAsync(Engine, image, i => StackLog.Progress($"pulling {i}"), ct).ConfigureAwait(false);
            if (failure is null) continue;
            MSBuildDiagnosticSink.Log(Log, [failure]);
            return false;
        }
        return true;
    }

    /// <summary>sh -c script that execs the reaper with its standard streams on /dev/null and the log file.</summary>
    private const string ReaperShell = "exec \"$0\" \"$@\" </dev/null >>\"$PROXYSTACK_REAPER_LOG\" 2>&1";

    /// <summary>
    /// Under `dotnet run` (which runs the build in its own process): registers the run with the stack and starts the reaper
    /// that removes the stack once the run's process is gone, however it ends — before any container exists, so no moment of
    /// the bring-up is left uncovered. The run's process (<paramref name="pid"/>) is the build's (<paramref name="build"/>, <see cref="StackTask.BuildProcessId"/>), or under
    /// `dotnet watch` dotnet watch itself (see
    /// <see cref="RunOwner"/>). Once per process: a later bring-up of the same run (or of watch's next restart) reuses the reaper.
    /// </summary>
    private void StartReaper(StackModel model, int build, int pid)
    {
        if (!RunRegistry.Register(model.Name, pid)) return;
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : Environment.ProcessPath ?? "dotnet";
        var log = Path.Combine(StackDirectory!, "reaper.log");
        string[] args = ["exec", typeof(ApplyStack).Assembly.Location, "reap", Path.GetFullPath(ModelFile), pid.ToString(System.Globalization.CultureInfo.InvariantCulture), RunRegistry.StartMarker(pid)];
        var psi = OperatingSystem.IsWindows()
            ? new System.Diagnostics.ProcessStartInfo(dotnet) { CreateNoWindow = true }
            // Its own standard streams: it must not hold the terminal's or a caller's pipes open after `dotnet run` ends.
            : new System.Diagnostics.ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", ReaperShell, dotnet } };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.UseShellExecute = false;
        psi.Environment["PROXYSTACK_REAPER_LOG"] = log;
        using var reaper = System.Diagnostics.Process.Start(psi);
        StackLog.Detail($"reaper started (pid {reaper?.Id}) for {(pid == build ? "dotnet run" : "dotnet watch")} pid {pid}; log: {log}");
    }
}
