using System.Diagnostics;
using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;

namespace ProxyStack.Execution;

/// <summary>
/// Runs a plan against the engine. It makes no decisions: every branch it needs is a step kind of the plan — save one fact
/// only the running process knows, whether its end hands a rollback's newcomers to the next run (LeaveToNextRun).
///
/// Invariants:
/// - A step starts only after every step in its DependsOn succeeded; independent steps (e.g. replicas) run in parallel.
/// - On the first failure or on cancellation no further step starts; running ones finish, then everything this run created
///   is undone in reverse (new containers and networks removed, retired replicas renamed back), so a failed bring-up leaves
///   the stack as it found it — except that a run ended for the next one (LeaveToNextRun) leaves the new replicas that
///   held a slot running aside for that run.
/// - Once the commit step (PlanStep.IsCommit: WaitProxy or ReloadProxy) succeeded, earlier steps are no longer undone: nginx
///   may already route to what they created. Before it, an old proxy that was stopped for its successor is started again.
/// - The error says what is left: rolled back, partly rolled back (each failed undo a STACK4013 warning), committed, or
///   rolled back with new replicas left aside (named).
/// - Teardown never stops at the first error: it runs every step and returns all failures.
/// </summary>
internal sealed class PlanExecutor(IContainerEngine engine, IStackLog log, ProbeRelay? relay = null)
{
    /// <summary>Steps in flight at once. Readiness waits hold a slot while they poll, so this is well above the replica limit (16).</summary>
    public const int MaxParallel = 64;
    /// <summary>
    /// Container starts in flight at once. The engine works through starts largely one after another anyway: 16 replicas
    /// started side by side (Docker 20.10, 2 cores) all returned late, and their apps then started together, contending for
    /// the CPU. Two at a time, the first replicas' apps start while the engine starts the rest: StackUp of 16 replicas
    /// applied 1.0–2.8 s sooner in each of 5 paired runs (median 16.2 s against 17.2 s; docs/benchmarks.md).
    /// </summary>
    public const int MaxStartsAtOnce = 2;
    /// <summary>Time for nginx's old workers to finish in-flight requests after a reload, before their upstreams stop.</summary>
    public static readonly TimeSpan DrainTime = TimeSpan.FromSeconds(2);
    /// <summary>Graceful stop: SIGTERM, then SIGKILL after this long (ASP.NET drains requests on SIGTERM).</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RollbackTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Asked once a rollback begins: true when this process is ending under a deadline and a next run of the stack takes over
    /// what the rollback leaves — a `dotnet watch` restart, which SIGKILLs the run 5 s after its SIGTERM by default
    /// (DOTNET_WATCH_PROCESS_CLEANUP_TIMEOUT_MS) and starts the next run at once. A new replica that held a slot then gives it
    /// back as always, but steps aside under a retiring name and keeps running, instead of waiting here for nginx's resolver
    /// (3 s) and its own graceful stop: waiting, a run ended by a second save during a roll of 3 replicas under wrk took
    /// 4.3 s to end on an idle machine, and a loaded CI machine went past watch's 5 s (docs/networking.md). The next run removes such a
    /// replica once nginx has resolved its own changes ("left over from an interrupted replacement"), and the end of dotnet
    /// watch removes the whole stack.
    /// </summary>
    public Func<bool> LeaveToNextRun { get; init; } = () => false;

    private readonly ReadinessWaiter _waiter = new(engine, log, relay);

    /// <summary>Per-phase timings of the last <see cref="ExecuteAsync"/>, logged as its last detail line.</summary>
    public StepProfile Profile { get; } = new();

    /// <summary>Runs <paramref name="plan"/>; on failure undoes what it did and throws <see cref="StackException"/>.</summary>
    public async Task ExecuteAsync(Plan plan, StackModel model, CancellationToken ct)
    {
        var undo = new List<(PlanStep Step, Func<CancellationToken, Task> Action)>();
        var returns = new SlotReturns();
        var gate = new object();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var running = new Dictionary<Task, PlanStep>();
        var done = new HashSet<int>();
        var started = new HashSet<int>();
        Exception? failure = null;
        PlanStep? failedStep = null;

        while (true)
        {
            if (failure is null && !ct.IsCancellationRequested)
            {
                foreach (var step in plan.Steps)
                {
                    if (running.Count >= MaxParallel) break;
                    if (started.Contains(step.Id) || !step.DependsOn.All(done.Contains)) continue;
                    if (step.Kind == StepKind.StartContainer && running.Values.Count(s => s.Kind == StepKind.StartContainer) >= MaxStartsAtOnce) continue;
                    started.Add(step.Id);
                    running[RunStepAsync(step, model, undo, returns, gate, stop.Token)] = step;
                }
            }
            if (running.Count == 0) break;
            var finished = await Task.WhenAny(running.Keys).ConfigureAwait(false);
            var finishedStep = running[finished];
            running.Remove(finished);
            if (finished.IsCompletedSuccessfully) done.Add(finishedStep.Id);
            else if (failure is null)
            {
                failure = finished.Exception?.InnerException ?? new OperationCanceledException();
                failedStep = finishedStep;
                stop.Cancel();
            }
        }

        if (failure is null && done.Count == plan.Steps.Count)
        {
            log.Detail("profile: " + Profile.Summarize(Profile.Now));
            return;
        }
        var committed = plan.Steps.Any(s => s.IsCommit && done.Contains(s.Id));
        // The relay is attached to the network an undo may remove.
        if (relay is not null) await relay.CloseAsync().ConfigureAwait(false);
        returns.Leave = LeaveToNextRun();
        var undoFailures = await RollbackAsync(undo, model.Name).ConfigureAwait(false);
        // Say exactly what is left: rolled back, partly rolled back, past the commit point (nothing undone), or rolled back
        // with new replicas left running aside for the next run.
        var outcome = committed ? Strings.OutcomeCommitted
            : undoFailures > 0 ? string.Format(System.Globalization.CultureInfo.InvariantCulture, Strings.OutcomeUndoIncomplete, undoFailures)
            : returns.Aside.Count > 0 ? string.Format(System.Globalization.CultureInfo.InvariantCulture, Strings.OutcomeLeftToNextRun, string.Join(", ", returns.Aside.Values.Order(StringComparer.Ordinal)))
            : Strings.OutcomeRolledBack;
        if (ct.IsCancellationRequested) throw new StackException(Diagnostic.Warning(nameof(Strings.ApplyCancelled), model.Name, outcome));
        throw new StackException(ToDiagnostic(model, failedStep!, failure!, outcome), failure);
    }

    /// <summary>
    /// Runs every step of a teardown plan, each once the steps it depends on have finished — succeeded or not: a resource that
    /// cannot be removed never keeps the others — and returns the failures (independent steps run side by side).
    /// </summary>
    public async Task<IReadOnlyList<Diagnostic>> TeardownAsync(Plan plan, string stack, CancellationToken ct)
    {
        var failures = new List<Diagnostic>();
        var finished = new HashSet<int>();
        var running = new Dictionary<Task, PlanStep>();
        var started = new HashSet<int>();
        while (true)
        {
            foreach (var step in plan.Steps.Where(s => !started.Contains(s.Id) && s.DependsOn.All(finished.Contains)))
            {
                started.Add(step.Id);
                log.Step(step.Describe());
                running[TeardownStepAsync(step, ct)] = step;
            }
            if (running.Count == 0) break;
            var done = await Task.WhenAny(running.Keys).ConfigureAwait(false);
            var doneStep = running[done];
            running.Remove(done);
            finished.Add(doneStep.Id);
            if (done.IsFaulted) failures.Add(Diagnostic.Error(nameof(Strings.TeardownFailed), doneStep.Resource, stack, done.Exception!.InnerException!.Message));
            else if (done.IsCanceled) throw new OperationCanceledException(ct);
        }
        return failures.OrderBy(f => f.Args[0].ToString(), StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// The steps a person watches a bring-up by, with how long each took: the network, each replica's readiness (named by its
    /// slot, also while it joins under a temporary name), the proxy. Null for the rest (they stay in the step log).
    /// </summary>
    internal static string? ProgressLine(PlanStep step, TimeSpan took)
    {
        var time = $"({took.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s)";
        return step.Kind switch
        {
            StepKind.CreateNetwork => $"network {step.Resource} created {time}",
            StepKind.WaitReady => $"{StackNames.SlotOf(step.Resource)} ready {time}",
            StepKind.WaitService => $"{step.Resource} ready ({step.Service?.Rule}) {time}",
            StepKind.WaitProxy => $"proxy {step.Resource} ready {time}",
            StepKind.ReloadProxy => $"proxy {step.Resource} reloaded {time}",
            _ => null,
        };
    }

    /// <summary>One teardown step as a task of its own (never the cached completed task, which would collide as a key).</summary>
    private async Task TeardownStepAsync(PlanStep step, CancellationToken ct)
    {
        await Task.Yield();
        await RunStepCoreAsync(step, null, ct).ConfigureAwait(false);
    }

    /// <summary>What the undo of a slot's hand-over leaves the undo of its new replica's creation (both keyed by creation name).</summary>
    private sealed class SlotReturns
    {
        /// <summary>When nginx can have let go of a new replica that gave its slot back.</summary>
        public Dictionary<string, Task> Released { get; } = new(StringComparer.Ordinal);
        /// <summary>New replicas that gave their slot back and were left running under this name (see <see cref="LeaveToNextRun"/>).</summary>
        public Dictionary<string, string> Aside { get; } = new(StringComparer.Ordinal);
        /// <summary>This rollback leaves new replicas that held a slot to the next run.</summary>
        public bool Leave { get; set; }
    }

    /// <summary>
    /// Runs one step and records its undo. <paramref name="returns"/> is filled by the undo of a JoinUpstream: the new replica
    /// that gave its slot name back → the time nginx may still send it requests (its step's Wait, from then), and the undo of
    /// its creation stops it gracefully only once that has passed; or, left to the next run, the name it was left under.
    /// </summary>
    private async Task RunStepAsync(PlanStep step, StackModel model, List<(PlanStep, Func<CancellationToken, Task>)> undo,
        SlotReturns returns, object gate, CancellationToken ct)
    {
        await Task.Yield();
        log.Step(step.Describe());
        var start = Profile.Now;
        try
        {
            await RunStepCoreAsync(step, model, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (step.Kind is StepKind.CreateContainer or StepKind.CreateNetwork or StepKind.CreateVolume)
        {
            // Cancelled (Ctrl-C) while the request was in flight: the engine may have created it all the same. Undone like a
            // creation that completed, but only if what holds the name carries this run's labels.
            lock (gate) undo.Add((step, t => RemoveIfCreatedAsync(step, model, t)));
            throw;
        }
        var end = Profile.Now;
        Profile.Record(step, model.ProxyName, start, end);
        log.Detail($"  {step.Describe()} took {(long)(end - start).TotalMilliseconds} ms");
        if (ProgressLine(step, end - start) is { } line) log.Progress(line);
        lock (gate)
        {
            switch (step.Kind)
            {
                case StepKind.CreateNetwork:
                    undo.Add((step, t => engine.RemoveNetworkAsync(step.Resource, t)));
                    break;
                case StepKind.CreateVolume:
                    undo.Add((step, t => engine.RemoveVolumeAsync(step.Resource, t)));
                    break;
                case StepKind.CreateContainer:
                    undo.Add((step, async t =>
                    {
                        // A new replica that held a slot keeps serving what nginx still sends it until nginx's resolver has
                        // seen the slot go back to its old replica; then it leaves gracefully (Kestrel finishes what it has).
                        // Left aside for the next run, it is not this run's to stop.
                        if (returns.Aside.ContainsKey(step.Resource)) return;
                        if (returns.Released.TryGetValue(step.Resource, out var nginxLetGo))
                        {
                            if (!nginxLetGo.IsCompleted) log.Detail($"  {step.Resource}: waiting until nginx can have let go of it");
                            await nginxLetGo.ConfigureAwait(false);
                            await engine.StopContainerAsync(step.Resource, StopTimeout, t).ConfigureAwait(false);
                        }
                        await engine.RemoveContainerAsync(step.Resource, t).ConfigureAwait(false);
                    }));
                    break;
                case StepKind.JoinUpstream:
                    // It holds the slot name now and nginx may be sending it requests. Undone, it only gives the name back: the
                    // undo of the retirement (next, in reverse order) returns the slot to the old replica, which never stopped,
                    // and the undo of its creation stops it once nginx can have seen that (step.Wait). Stopped at once, it
                    // refused what nginx still sent it: with every slot's new replica gone and their old ones not yet resolved
                    // again, a rollback under load answered 502 (measured: a dotnet watch restart during a roll of 3 replicas).
                    undo.Add((step, async t =>
                    {
                        // Not where the slot is a network alias (Podman): a rename would leave the alias with the replica.
                        if (returns.Leave && step.AliasNetwork is null)
                        {
                            // A retiring name: the next run takes it for a leftover of an interrupted replacement and stops it
                            // only once nginx has resolved that run's changes, this one's hand-back long since among them.
                            var aside = StackNames.Retiring(step.Resource, Guid.NewGuid().ToString("N"));
                            await engine.RenameContainerAsync(step.Resource, aside, t).ConfigureAwait(false);
                            returns.Aside[step.RenameFrom!] = aside;
                            return;
                        }
                        await engine.RenameContainerAsync(step.Resource, step.RenameFrom!, t).ConfigureAwait(false);
                        returns.Released[step.RenameFrom!] = Task.Delay(step.Wait, t);
                    }));
                    break;
                case StepKind.RetireContainer:
                    undo.Add((step, t => engine.RenameContainerAsync(step.RenameTo!, step.Resource, t)));
                    break;
                case StepKind.StopContainer when step.UndoByStarting:
                    undo.Add((step, t => engine.StartContainerAsync(step.Resource, t)));
                    break;
            }
            if (step.IsCommit) undo.Clear();
        }
    }

    /// <summary>The undo of a creation that was cancelled in flight: removes the resource only when it is the one this step made.</summary>
    private async Task RemoveIfCreatedAsync(PlanStep step, StackModel model, CancellationToken ct)
    {
        switch (step.Kind)
        {
            case StepKind.CreateContainer:
                var (containers, _) = await engine.ListStackResourcesAsync(model.Name, [step.Resource], ct).ConfigureAwait(false);
                if (containers.FirstOrDefault(c => c.Name == step.Resource) is { } c && c.BelongsTo(model.Name)
                    && c.Label(StackLabels.ConfigHash) == step.Container!.Labels.GetValueOrDefault(StackLabels.ConfigHash))
                    await engine.RemoveContainerAsync(step.Resource, ct).ConfigureAwait(false);
                break;
            case StepKind.CreateNetwork:
                var (_, networks) = await engine.ListStackResourcesAsync(model.Name, [step.Resource], ct).ConfigureAwait(false);
                if (networks.FirstOrDefault(n => n.Name == step.Resource) is { } n && n.BelongsTo(model.Name) && n.Owner == model.Owner)
                    await engine.RemoveNetworkAsync(step.Resource, ct).ConfigureAwait(false);
                break;
            case StepKind.CreateVolume:
                var volumes = await engine.ListStackVolumesAsync(model.Name, [step.Resource], ct).ConfigureAwait(false);
                if (volumes.FirstOrDefault(v => v.Name == step.Resource) is { } v && v.BelongsTo(model.Name) && v.Owner == model.Owner)
                    await engine.RemoveVolumeAsync(step.Resource, ct).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>One step. <paramref name="model"/> is needed by the steps that probe or label (not by teardown's).</summary>
    private async Task RunStepCoreAsync(PlanStep step, StackModel? model, CancellationToken ct)
    {
        var timeout = TimeSpan.FromSeconds(model?.ReadyTimeoutSeconds ?? 0);
        switch (step.Kind)
        {
            case StepKind.CreateNetwork:
                await engine.CreateNetworkAsync(step.Resource, step.Labels!.ToDictionary(), ct).ConfigureAwait(false);
                break;
            case StepKind.CreateVolume:
                await engine.CreateVolumeAsync(step.Resource, step.Labels!.ToDictionary(), ct).ConfigureAwait(false);
                break;
            case StepKind.RemoveVolume:
                await engine.RemoveVolumeAsync(step.Resource, ct).ConfigureAwait(false);
                break;
            case StepKind.RetireContainer:
                await engine.RenameContainerAsync(step.Resource, step.RenameTo!, ct).ConfigureAwait(false);
                break;
            case StepKind.CreateContainer:
                await engine.CreateContainerAsync(step.Container!, ct).ConfigureAwait(false);
                break;
            case StepKind.StartContainer:
                await engine.StartContainerAsync(step.Resource, ct).ConfigureAwait(false);
                break;
            case StepKind.WaitReady:
                var replica = step.Replica!;
                await _waiter.WaitForReplicaAsync(step.Resource, replica.Network, replica.Address, replica.Port, replica.Health, timeout, ct, app: true).ConfigureAwait(false);
                break;
            case StepKind.WaitService:
                await ServiceReadiness.WaitAsync(engine, _waiter, step.Resource, step.Service!.Network, step.Service.Rule, step.Service.Port, timeout, ct).ConfigureAwait(false);
                break;
            case StepKind.CheckProxyConfig:
                await CheckConfigAsync(step.Container!, timeout, ct).ConfigureAwait(false);
                break;
            case StepKind.WaitProxy:
                await _waiter.WaitForProxyAsync(step.Resource, step.Proxy!.Network, step.Proxy.Url, step.Proxy.Health, step.Proxy.ProbeToken, timeout, ct,
                    step.RouteByAddress ? c => ReloadByAddressAsync(step, c)
                    : step.Proxy.ResolveNow ? c => ResolveAgainUnlessHeldAsync(step.Resource, step.Proxy, c) : null, step.Proxy.Routes,
                    step.Proxy.PassProvesResolved).ConfigureAwait(false);
                break;
            case StepKind.ReloadProxy when step.RouteByAddress:
                await ReloadByAddressAsync(step, ct).ConfigureAwait(false);
                break;
            case StepKind.ReloadProxy:
                await ReloadAsync(step.Resource, step.Config!, ct).ConfigureAwait(false);
                break;
            case StepKind.Drain:
                await Task.Delay(DrainTime, ct).ConfigureAwait(false);
                break;
            case StepKind.JoinUpstream:
                await engine.RenameContainerAsync(step.RenameFrom!, step.Resource, ct).ConfigureAwait(false);
                // Where DNS keeps join-time names (Podman), the slot name becomes the replica's alias by rejoining the
                // network: nothing but the probe has talked to it yet. A replica leaving its slot there stays resolvable
                // until it stops; nginx then finds its port closed and tries the next replica.
                if (step.AliasNetwork is { } network)
                    await engine.RejoinNetworkAsync(step.Resource, network, step.Resource, ct).ConfigureAwait(false);
                break;
            case StepKind.AwaitResolver:
                await Task.Delay(step.Wait, ct).ConfigureAwait(false);
                break;
            case StepKind.StopContainer:
                await engine.StopContainerAsync(step.Resource, StopTimeout, ct).ConfigureAwait(false);
                break;
            case StepKind.RemoveContainer:
                await engine.RemoveContainerAsync(step.Resource, ct).ConfigureAwait(false);
                break;
            case StepKind.RemoveNetwork:
                await engine.RemoveNetworkAsync(step.Resource, ct).ConfigureAwait(false);
                break;
            case StepKind.RemoveImage:
                if (await engine.RemoveImageUnlessHeldAsync(step.Resource, ct).ConfigureAwait(false) is { } why)
                    log.Detail($"  kept image {step.Resource}: {why}");
                break;
            default:
                throw new UnreachableException($"Unknown step kind {step.Kind}.");
        }
    }

    /// <summary>
    /// Runs nginx -t in a throwaway container of the new proxy image (same network and links, nothing published) and removes
    /// it; a config nginx rejects fails the step with nginx's own words before the running proxy is touched.
    /// </summary>
    private async Task CheckConfigAsync(ContainerSpec check, TimeSpan timeout, CancellationToken ct)
    {
        await engine.RemoveContainerAsync(check.Name, ct).ConfigureAwait(false);
        var (exit, logs) = await ThrowawayContainer.RunAsync(engine, check, timeout, ct).ConfigureAwait(false);
        if (exit is null) throw new ProxyReloadException(check.Name, $"nginx -t did not finish within {timeout.TotalSeconds:0} s");
        if (exit != 0) throw new ProxyReloadException(check.Name, logs);
    }

    /// <summary>Checks the new config beside the running one, and only then swaps it in and signals nginx (graceful reload).</summary>
    private async Task ReloadAsync(string proxy, string config, CancellationToken ct)
    {
        var next = NginxConfigWriter.ConfigPath + ".next";
        await engine.WriteFileAsync(proxy, next, config, ct).ConfigureAwait(false);
        var (exit, output) = await engine.ExecAsync(proxy, ["sh", "-c", ConfigReloadScript(next)], ct).ConfigureAwait(false);
        if (exit != 0) throw new ProxyReloadException(proxy, output, config);
        NoteUnsettledReload(proxy, output);
    }

    /// <summary>
    /// Shell that checks the config at <paramref name="next"/>, swaps it in and reloads (<see cref="ReloadScript"/>); a
    /// config nginx rejects ends it with nginx -t's status and words, the live config untouched and no signal sent.
    /// </summary>
    internal static string ConfigReloadScript(string next) =>
        $"nginx -t -q -c {next} && mv {next} {NginxConfigWriter.ConfigPath} || exit $?; {ReloadScript}";

    /// <summary>
    /// Where nginx routes by address: the step's config with every slot's replica address as the engine gives it now (after
    /// this run's joins, which may have given a replica a new one), checked and swapped in by a graceful reload.
    /// </summary>
    private async Task ReloadByAddressAsync(PlanStep step, CancellationToken ct)
    {
        var addresses = await SlotAddressesAsync(step.Slots, step.AliasNetwork!, ct).ConfigureAwait(false);
        var config = NginxConfigWriter.RouteByAddress(step.Config!, addresses.Where(a => a.Address is not null).ToDictionary(a => a.Slot, a => a.Address!, StringComparer.Ordinal));
        await ReloadAsync(step.Resource, config, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Reloads a proxy's unchanged config, which makes nginx resolve its upstream names at once. Through exec, not the engine's
    /// kill API: Docker 20.10 marks a container sent any signal that way as stopped by hand, and its restart policy then
    /// left the proxy down after an engine restart (FaultTests caught it).
    /// </summary>
    private async Task ResolveAgainAsync(string proxy, IReadOnlyList<string> slots, string network, CancellationToken ct)
    {
        var addresses = await SlotAddressesAsync(slots, network, ct).ConfigureAwait(false);
        var (exit, output) = await engine.ExecAsync(proxy, ["sh", "-c", ResolveAgainScript(addresses)], ct).ConfigureAwait(false);
        if (exit != 0) throw new ProxyReloadException(proxy, output);
        NoteUnsettledReload(proxy, output);
    }

    /// <summary>
    /// <see cref="ResolveAgainAsync"/>, unless the proxy was held until every slot name answered and its log says the hold
    /// ended so (<see cref="ProxyBuildContext.HeldMark"/>): then nginx's first lookups came after every join, and a reload
    /// would only repeat them (nginx's workers ask for each name a millisecond after they start, and share the answers).
    /// A log that cannot be read (a logging driver that keeps none) gets the reload.
    /// </summary>
    private async Task ResolveAgainUnlessHeldAsync(string proxy, ProxyCheck check, CancellationToken ct)
    {
        if (check.Held && await HeldUntilResolvedAsync(proxy, ct).ConfigureAwait(false))
        {
            log.Detail($"  {proxy}: started once every slot name resolved, no reload");
            return;
        }
        log.Detail($"  {proxy}: told to resolve again");
        await ResolveAgainAsync(proxy, check.Slots, check.Network, ct).ConfigureAwait(false);
    }

    private async Task<bool> HeldUntilResolvedAsync(string proxy, CancellationToken ct)
    {
        try { return (await engine.GetLogsAsync(proxy, HeldLogTail, ct).ConfigureAwait(false)).Contains(ProxyBuildContext.HeldMark, StringComparison.Ordinal); }
        catch (Exception e) when (e is not OperationCanceledException) { return false; }
    }

    /// <summary>How much of a fresh proxy's log is read for the hold's mark: it comes before nginx's first line.</summary>
    private const int HeldLogTail = 200;

    /// <summary>A reload whose old workers still accepted when the settle script gave up (<see cref="ReloadScript"/>): said at detail.</summary>
    private void NoteUnsettledReload(string proxy, string output)
    {
        if (output.Contains(UnsettledMark, StringComparison.Ordinal)) log.Detail($"  {proxy}: {UnsettledMark}");
    }

    /// <summary>Each slot's replica's address on <paramref name="network"/> (null where the engine does not say).</summary>
    private async Task<IReadOnlyList<(string Slot, string? Address)>> SlotAddressesAsync(IReadOnlyList<string> slots, string network, CancellationToken ct) =>
        await Task.WhenAll(slots.Select(async slot => (slot, (await engine.InspectContainerAsync(slot, network, ct).ConfigureAwait(false))?.IpAddress))).ConfigureAwait(false);

    /// <summary>
    /// The reload, once the engine's DNS gives every slot name its new replica's address in the proxy (where nginx resolves
    /// by name). Docker's DNS answers at once; a DNS that drops questions while it reloads after a network change (Podman's
    /// aardvark-dns, where nginx now routes by address instead) made a CI run see a fresh 3-replica stack answer from one
    /// replica right after StackUp. Each lookup gives up after a second; 20 rounds at most, then the reload anyway (nginx
    /// keeps asking on its own). An image without getent reloads at once.
    /// </summary>
    internal static string ResolveAgainScript(IReadOnlyList<(string Slot, string? Address)> slots) => AwaitDnsScript(slots) + ReloadScript;

    /// <summary>
    /// Shell that returns once the engine's DNS, asked in the container, lists each slot's replica address among the slot
    /// name's answers (only that it answers, where the address is unknown): at most 20 rounds of a second's lookup, at once
    /// without getent.
    /// </summary>
    internal static string AwaitDnsScript(IReadOnlyList<(string Slot, string? Address)> slots) => slots.Count == 0 ? "" :
        "if command -v getent > /dev/null; then "
        + $"has() {{ {ProxyBuildContext.AskOnce} getent ahostsv4 \"$1\" | grep -q \"^$2 \"; }}; "
        + "slots_ok() { " + string.Concat(slots.Select(s => s.Address is { } a ? $"has {s.Slot} {a} && " : $"getent hosts {s.Slot} > /dev/null && ")) + "true; }; "
        + "i=0; while [ $i -lt 20 ] && ! slots_ok; do i=$((i+1)); sleep 0.1; done; fi; ";

    /// <summary>
    /// Shell that tells the proxy's nginx to reload its live config and returns once the reload has taken over (both reloads
    /// above). `nginx -s reload` only signals the master, which then reads the config, starts new workers and tells the old ones
    /// to quit; until an old worker has closed its listening sockets, a new connection may still meet it, with the old upstream
    /// set — or, accepted just before it quits, be closed before a request (a gRPC client's first call saw "the server did not
    /// complete the HTTP/2 handshake" right after a 2-replica StackUp). So the script notes the master's workers (children of
    /// the pid in the config's pid file, read from /proc) before the signal, and waits until each has ended or titles itself
    /// "shutting down", which nginx does as it closes its listening sockets: about 0.1–0.4 s on this machine, where a fixed
    /// 0.5 s was waited before. It gives up after 100 rounds of 20 ms (at least 2 s) and says so (<see cref="UnsettledMark"/>);
    /// an image without grep waits the fixed 0.5 s.
    /// </summary>
    internal static readonly string ReloadScript =
        $"m=$(cat {NginxConfigWriter.PidPath} 2>/dev/null); old=; "
        + "if [ -n \"$m\" ]; then for s in /proc/[0-9]*/stat; do read -r p c st pp rest 2>/dev/null < \"$s\" && [ \"$pp\" = \"$m\" ] && old=\"$old $p\"; done; fi; "
        + $"nginx -c {NginxConfigWriter.ConfigPath} -s reload || exit $?; "
        + "command -v grep > /dev/null || { sleep 0.5; exit 0; }; "
        + "settled() { for p in $old; do read -r x c st rest 2>/dev/null < /proc/$p/stat || continue; [ \"$st\" = Z ] && continue; "
        + "grep -qa 'shutting down' /proc/$p/cmdline 2>/dev/null || return 1; done; }; "
        + $"i=0; while ! settled; do i=$((i+1)); [ $i -gt 100 ] && {{ echo '{UnsettledMark}'; exit 0; }}; sleep 0.02; done";

    /// <summary>What <see cref="ReloadScript"/> prints when nginx's old workers had not let go by the time it gave up.</summary>
    internal const string UnsettledMark = "the old nginx workers still accepted 2 s after the reload";

    /// <summary>Undoes in reverse; every undo step that fails is a STACK4013 warning naming it. Returns how many failed.</summary>
    private async Task<int> RollbackAsync(List<(PlanStep Step, Func<CancellationToken, Task> Action)> undo, string stack)
    {
        if (undo.Count == 0) return 0;
        var failed = 0;
        using var timeout = new CancellationTokenSource(RollbackTimeout);
        for (var i = undo.Count - 1; i >= 0; i--)
        {
            var (step, action) = undo[i];
            try
            {
                log.Step($"undo {step.Describe()}");
                await action(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is EngineRequestException or EngineUnavailableException or OperationCanceledException)
            {
                failed++;
                log.Warn(Diagnostic.Warning(nameof(Strings.UndoFailed), step.Describe(), e.Message, stack));
            }
        }
        return failed;
    }

    private static Diagnostic ToDiagnostic(StackModel model, PlanStep step, Exception e, string outcome)
    {
        var isProxy = step.Resource == model.ProxyName;
        // Log tails are copied into the build log: secret values the app printed are masked there.
        var secrets = model.Environment.Where(v => model.SecretNames.Contains(v.Key))
            .Concat(model.Services.SelectMany(sv => sv.Environment.Where(v => sv.SecretNames.Contains(v.Key))))
            .Concat(model.Projects.SelectMany(p => p.Environment.Where(v => p.SecretNames.Contains(v.Key)))).Select(v => v.Value).ToList();
        string Tail(string logs) => Indent(SecretDigests.Redact(logs, secrets));
        return e switch
        {
            StackException s => s.Diagnostic,
            ContainerExitedException x when isProxy => Diagnostic.Error(nameof(Strings.ProxyNotReady), x.Name, model.ServedUrl, model.ReadyTimeoutSeconds,
                $"exited with code {x.ExitCode}", Tail(x.Logs), outcome),
            ReadinessTimeoutException n when step.Kind == StepKind.WaitService => Diagnostic.Error(nameof(Strings.ServiceNotReady), n.Name, n.Target, n.Seconds, n.LastResult, Tail(n.Logs), outcome),
            ContainerExitedException x when step.Kind == StepKind.WaitService =>
                Diagnostic.Error(nameof(Strings.ServiceNotReady), x.Name, step.Service!.Rule, model.ReadyTimeoutSeconds, $"exited with code {x.ExitCode}", Tail(x.Logs), outcome),
            ContainerExitedException x => Diagnostic.Error(nameof(Strings.ReplicaExited), x.Name, x.ExitCode, Tail(x.Logs), outcome),
            ReadinessTimeoutException t when step.Replica?.Health.HostStarted == true =>
                Diagnostic.Error(nameof(Strings.BackgroundReplicaNotStarted), t.Name, t.Seconds, t.LastResult, Tail(t.Logs), outcome),
            ReadinessTimeoutException t when isProxy => Diagnostic.Error(nameof(Strings.ProxyNotReady), t.Name, t.Target, t.Seconds, t.LastResult, Tail(t.Logs), outcome),
            ReadinessTimeoutException t => Diagnostic.Error(nameof(Strings.ReplicaNotReady), t.Name, step.Replica?.Health ?? model.Health, t.Seconds, t.LastResult, Tail(t.Logs), outcome),
            HealthPathNotServedException n => Diagnostic.Error(nameof(Strings.HealthPathNotServed), n.Name, n.Path, n.Answer, n.Seconds, outcome),
            AppListensElsewhereException a => Diagnostic.Error(nameof(Strings.AppListensElsewhere), a.Name, string.Join(", ", a.Urls), a.Port,
                KestrelAddresses.OpenPort(a.Urls) is { } open ? $", or set the port it listens on, {open}, as StackAppPort (a StackProject's AppPort)" : "", outcome),
            ProxyReloadException r => Diagnostic.Error(nameof(Strings.ProxyReloadFailed), r.Name, r.Output, SnippetLocation(r.Config ?? NginxConfigWriter.Write(model), r.Output)),
            EngineUnavailableException u => u.ToDiagnostic(),
            EngineRequestException r => Diagnostic.Error(nameof(Strings.ApplyStepFailed), step.Describe(), r.Reason, outcome),
            _ => Diagnostic.Error(nameof(Strings.ApplyStepFailed), step.Describe(), e.Message, outcome),
        };
    }

    /// <summary>" (StackProxyConfig 'file', line n)" when nginx's error points into a user's snippet, else "".</summary>
    private static string SnippetLocation(string config, string nginxOutput)
    {
        var match = System.Text.RegularExpressions.Regex.Match(nginxOutput, @"nginx\.conf(?:\.next)?:(\d+)");
        return match.Success && NginxConfigWriter.Locate(config, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)) is { } at
            ? $" (StackProxyConfig '{at.Path}', line {at.Line})" : "";
    }

    /// <summary>Log lines as a block under the message: each on its own line, indented, so MSBuild shows them readably.</summary>
    public static string Indent(string logs) =>
        "\n" + string.Join("\n", (logs.Length == 0 ? "(no output)" : logs).Split('\n').Select(l => "    | " + l.TrimEnd('\r'))) + "\n";
}
