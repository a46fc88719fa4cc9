using System.Runtime.InteropServices;
using System.Threading.Channels;
using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Execution;
using ProxyStack.Model;

namespace ProxyStack.Runner;

/// <summary>
/// The foreground of `dotnet run`, started after StackUp brought the stack up: streams every container's output with a
/// coloured per-container prefix (as compose does) until Ctrl-C, SIGTERM or SIGHUP, then removes the whole stack, network
/// included, unless StackKeepRunning is true. A plain program rather than an MSBuild task, so that it alone decides what a
/// signal does: MSBuild ends its process on SIGTERM without waiting for a task's cleanup.
/// </summary>
internal static partial class StackRunner
{
    private static readonly string[] Colors = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];
    private static readonly TimeSpan TeardownTimeout = TimeSpan.FromSeconds(60);

    public static async Task<int> MainAsync(string[] args)
    {
        if (args is not ["run", var modelFile, ..] || !File.Exists(modelFile))
        {
            Console.Error.WriteLine("usage: dotnet ProxyStack.Tasks.dll run <obj/.../stack/model.json>");
            return 2;
        }
        var model = StackModelFile.Deserialize(await File.ReadAllTextAsync(modelFile).ConfigureAwait(false));
        // The stack's folder of obj, beside the model: the build's progress lines and the Hot Reload note are kept there.
        var stackDirectory = Path.GetDirectoryName(Path.GetFullPath(modelFile))!;
        var log = new ConsoleStackLog(verbose: Environment.GetEnvironmentVariable("PROXYSTACK_VERBOSE") == "1");
        using var engine = new DockerEngine();
        using var stop = new CancellationTokenSource();
        PosixSignal? received = null;
        void OnSignal(PosixSignalContext c) { c.Cancel = true; received ??= c.Signal; stop.Cancel(); }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);

        // The launch profile `dotnet run` applied to this process (DOTNET_LAUNCH_PROFILE); the replicas got the one the build picked.
        var applied = Environment.GetEnvironmentVariable(LaunchProfiles.ProfileVariable);
        if (RunInterrupt.Consume(modelFile))
        {
            // Ctrl-C was pressed while `dotnet run` handed over to this program (see RunInterrupt).
            log.Milestone($"Stack '{model.Name}': Ctrl-C during start-up.");
            stop.Cancel();
        }
        else
        {
            // The bring-up's progress lines, kept by the build while its terminal display owned the screen (see RunProgress).
            foreach (var line in RunProgress.Consume(stackDirectory)) Console.Out.WriteLine(line);
            // The line ASP.NET prints and tools look for (dotnet watch opens the browser there; VS Code's serverReadyAction
            // pattern matches it): the stack's URL(s), before any replica's own "Now listening on" with its unpublished port.
            foreach (var url in model.ServedUrls) log.Milestone(string.Format(Strings.NowListening, url));
            foreach (var line in model.ProjectLines) log.Milestone(line);
            // What the launch profile applied means for the stack, before the call to action and on standard output: dotnet
            // watch shows only that, and a line after "press Ctrl-C to stop" is one a person has stopped reading for.
            if (LaunchProfiles.Mismatch(applied, model) is { } mismatch) log.Milestone("warning: " + mismatch);
            if (LaunchProfiles.HttpsNotServed(applied, Environment.GetEnvironmentVariable("ASPNETCORE_URLS"), model) is { } https)
                log.Milestone(https);
            log.Milestone(model.ListeningLine + " — press Ctrl-C to stop.");
        }
        // Under dotnet watch the run belongs to watch (RunOwner): while watch lives, the stack outlives each run.
        var owner = RunOwner.Find(Environment.ProcessId);
        var underWatch = owner != Environment.ProcessId;
        bool WatchOwnsStack() => underWatch && RunRegistry.StartMarker(owner).Length > 0;
        // On standard output: dotnet watch shows the process's standard output, not its standard error.
        if (UnderHotReload(Environment.GetEnvironmentVariables(), AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name)))
        {
            // With Hot Reload watch would apply each saved change to this process, which does not run the app. A run that has
            // ended makes watch wait for the next save and then start a new run, which replaces the replicas rolling: the
            // inner loop of --no-hot-reload, minus the followed logs. Only where the stack belongs to watch (else the
            // reaper would remove it now): elsewhere, the warning.
            if (!stop.IsCancellationRequested && WatchOwnsStack())
            {
                // The why once per dotnet watch, not at every save: later runs say it in a line.
                log.Milestone(string.Format(FirstRunOf(owner, stackDirectory)
                    ? Strings.WatchHotReloadRunEnds : Strings.WatchHotReloadRunEndsAgain, model.Name));
                return 0;
            }
            log.Milestone("warning: " + Strings.WatchHotReloadIneffective);
        }
        // `dotnet run` killed outright (SIGKILL, a crashed IDE) would leave this process an orphan forever: when the parent
        // changes, stop as on Ctrl-C. (The reaper removes the stack in that case too.)
        var parent = OperatingSystem.IsWindows() ? 0 : GetParentPid();
        if (parent > 1) _ = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested && GetParentPid() == parent) await Task.Delay(500).ConfigureAwait(false);
            stop.Cancel();
        });
        try
        {
            await StreamLogsAsync(engine, model, log, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Ctrl-C before the log streams were open.
        }
        catch (Exception e) when (e is EngineUnavailableException or EngineRequestException)
        {
            log.Error("warning: " + e.Message);
            await Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }

        if (model.KeepRunning)
        {
            log.Milestone(string.Format(Strings.StackKeptRunning, model.Name, DotnetBuildCommand.For(model.ProjectFile, "-t:StackDown")));
            return 0;
        }
        // Under dotnet watch an end by SIGTERM or by `dotnet run` going away is a restart for a saved change, and the stack
        // stays for the next run, which replaces the replicas rolling. Ctrl-C (SIGINT) removes it now; watch's end makes the
        // reaper remove it.
        if (received != PosixSignal.SIGINT && WatchOwnsStack())
        {
            log.Milestone(string.Format(Strings.WatchRestartKeepsStack, model.Name));
            return 0;
        }
        using var timeout = new CancellationTokenSource(TeardownTimeout);
        try
        {
            // The stack belongs to every `dotnet run` of it that is alive: the last one removes it.
            var failures = await StackTeardown.EndRunAsync(engine, log, model, underWatch ? owner : parent > 1 ? parent : null, timeout.Token).ConfigureAwait(false) ?? [];
            foreach (var f in failures) log.Error("error " + f.Format());
            return failures.Count == 0 ? 0 : 1;
        }
        catch (StackException e)
        {
            log.Error("error " + e.Diagnostic.Format());
            return 1;
        }
        catch (Exception e) when (e is EngineUnavailableException or EngineRequestException or OperationCanceledException)
        {
            log.Error("error " + Diagnostic.Error(nameof(Strings.TeardownFailed), model.Name, model.Name, e.Message).Format());
            return 1;
        }
    }

    /// <summary>
    /// Whether this is the first run under the dotnet watch process <paramref name="owner"/> (by its pid and start, so a later
    /// watch of the same pid is new) to end early, noted in the stack's folder of obj, which only this project's runs use.
    /// </summary>
    internal static bool FirstRunOf(int owner, string stackDirectory)
    {
        var file = Path.Combine(stackDirectory, "hot-reload-explained");
        var watch = $"{owner}:{RunRegistry.StartMarker(owner)}";
        try
        {
            if (File.Exists(file) && File.ReadAllText(file) == watch) return false;
            File.WriteAllText(file, watch);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return true;
    }

    /// <summary>
    /// Whether `dotnet watch` runs this process with Hot Reload: it then applies each edit to this process (which does not
    /// run the app) and reports it applied, while the replicas keep the old code. DOTNET_WATCH=1, and its delta applier is
    /// loaded as a startup hook (which takes its own variables out of the environment as it starts; with --no-hot-reload
    /// there is no hook, and dotnet watch restarts the process on every change instead).
    /// </summary>
    public static bool UnderHotReload(System.Collections.IDictionary environment, IEnumerable<string?> loadedAssemblies) =>
        environment["DOTNET_WATCH"] as string == "1" && loadedAssemblies.Contains("Microsoft.Extensions.DotNetDeltaApplier");

    [LibraryImport("libc", EntryPoint = "getppid")]
    private static partial int GetParentPid();

    /// <summary>Follows every container of the stack until <paramref name="ct"/> is cancelled; prefixes each line with its container.</summary>
    private static async Task StreamLogsAsync(IContainerEngine engine, StackModel model, ConsoleStackLog log, CancellationToken ct)
    {
        // The proxy's log from now on: what it wrote before is the bring-up's own (the hold mark, an error while nginx's first
        // lookups were under way) and, for a stack kept from an earlier run, that run's requests. The bring-up's probe requests,
        // which nginx's buffered access log may write after this moment, are not logged at all (NginxConfigWriter.AccessLog).
        // The replicas' logs from their start.
        var now = DateTimeOffset.UtcNow;
        var (containers, _) = await engine.ListStackResourcesAsync(model.Name, [], ct).ConfigureAwait(false);
        var color = Environment.GetEnvironmentVariable("NO_COLOR") is null && !Console.IsOutputRedirected;
        var width = containers.Count == 0 ? 0 : containers.Max(c => c.Name.Length);
        var lines = Channel.CreateUnbounded<string>();
        var followers = containers.OrderBy(c => c.Name, StringComparer.Ordinal).Select((c, i) =>
        {
            var prefix = c.Name.PadRight(width) + " | ";
            if (color) prefix = $"\u001b[{Colors[i % Colors.Length]}m{prefix}\u001b[0m";
            return FollowAsync(engine, c.Name, prefix, lines.Writer, ct, c.Role == Planning.StackLabels.RoleProxy ? now : null);
        }).ToList();
        try
        {
            await foreach (var line in lines.Reader.ReadAllAsync(ct).ConfigureAwait(false)) log.Write(Console.Out, line);
        }
        catch (OperationCanceledException) { }
        await Task.WhenAll(followers).ConfigureAwait(false);
    }

    private static async Task FollowAsync(IContainerEngine engine, string name, string prefix, ChannelWriter<string> writer, CancellationToken ct, DateTimeOffset? since)
    {
        try
        {
            // Not the proxy's hold mark: a line of ProxyStack's own protocol (PlanExecutor reads it), not of the app's stack.
            await engine.FollowLogsAsync(name, line => { if (line.TrimEnd() != Proxy.ProxyBuildContext.HeldMark) writer.TryWrite(prefix + line); }, ct, since).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (e is EngineRequestException or EngineUnavailableException or IOException)
        {
            writer.TryWrite(prefix + "(log stream ended: " + e.Message + ")");
        }
    }
}
