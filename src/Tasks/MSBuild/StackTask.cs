using Microsoft.Build.Framework;
using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Execution;
using ProxyStack.Model;

namespace ProxyStack.MSBuild;

/// <summary>
/// Base of the tasks that touch Docker: owns the cancellation source, bridges Execute() to ExecuteAsync, and maps the typed
/// engine exceptions to coded errors in one place, so no user ever sees a stack trace.
/// </summary>
public abstract class StackTask : Microsoft.Build.Utilities.Task, ICancelableTask
{
    private readonly CancellationTokenSource _cts = new();
    private IContainerEngine? _engine;

    /// <summary>How long a process exit waits for this task to cancel and roll back.</summary>
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a process exit then leaves MSBuild's loggers, which print on a thread of their own, to print what this task
    /// logged (the cancellation's outcome): without it the exiting process lost that message in 6 of 16 runs of
    /// BringUpFaultTests' SIGTERM test here, with it in none of 18.
    /// </summary>
    private static readonly TimeSpan LogFlushGrace = TimeSpan.FromMilliseconds(500);

    private volatile bool _exiting;

    /// <summary>The process is ending (SIGTERM): this task was cancelled by its exit, which waits for it.</summary>
    private protected bool Exiting => _exiting;

    protected StackTask() => TaskResources = Strings.ResourceManager;

    /// <summary>Engine endpoint; empty means DOCKER_HOST, else the default socket. Example: unix:///var/run/docker.sock</summary>
    public string? DockerHost { get; set; }

    /// <summary>Whether Podman's sockets are looked for before Docker's (LocalRegistry=Podman).</summary>
    private protected virtual bool PreferPodman => false;

    /// <summary>Test seam: a fake engine for adapter tests.</summary>
    internal IContainerEngine Engine
    {
        get => _engine ??= new DockerEngine(DockerHost, PreferPodman);
        set => _engine = value;
    }

    internal IStackLog StackLog => new MSBuildStackLog(Log, ProgressToConsole, StackDirectory);

    /// <summary>The stack's intermediate folder (obj/…/stack/), where `dotnet run`'s progress lines wait on a terminal; null: unknown.</summary>
    private protected virtual string? StackDirectory => null;

    /// <summary>Whether milestones and progress lines go to the console too (the build of `dotnet run`).</summary>
    private protected virtual bool ProgressToConsole => false;

    /// <summary>What this task's time is called in the stack-up profile (detailed verbosity); null: not profiled.</summary>
    private protected virtual string? ProfileLabel => null;

    /// <summary>
    /// The process running the build: this one, or — when MSBuild runs the task in a task host (MSBuild on .NET Framework
    /// runs every task of ours in a .NET task host; see Sdk.targets) — the MSBuild process that started the host, which
    /// outlives it. A `dotnet run` stack belongs to that process, not to a task host that ends with the build. (The parent
    /// is read from Linux's /proc; elsewhere this process.)
    /// </summary>
    private protected int BuildProcessId =>
        BuildEngine?.GetType().Name == "OutOfProcTaskHostNode" && RunOwner.ParentOf(Environment.ProcessId) is > 1 and var parent
            ? parent : Environment.ProcessId;

    public void Cancel()
    {
        try { _cts.Cancel(); }
        catch (ObjectDisposedException) { }
    }

    public sealed override bool Execute()
    {
        // MSBuild ends its process on SIGTERM without cancelling tasks. Holding the exit until this task has cancelled and
        // rolled back keeps a killed build from leaving a half-started stack (ProcessExit handlers run before the exit).
        using var finished = new ManualResetEventSlim();
        EventHandler onExit = (_, _) =>
        {
            _exiting = true;
            Cancel();
            finished.Wait(ExitGrace);
            Thread.Sleep(LogFlushGrace);
            // .NET ends a SIGTERMed process with Environment.ExitCode, 0 by default: a build stopped in the middle of this
            // task would report success to the build server. 143 is the shell's code for "terminated by SIGTERM".
            Environment.ExitCode = 143;
        };
        AppDomain.CurrentDomain.ProcessExit += onExit;
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var ok = ExecuteAsync(_cts.Token).GetAwaiter().GetResult() && !Log.HasLoggedErrors;
            if (ok && ProfileLabel is { } label) StackLog.Detail($"profile: {label} took {clock.ElapsedMilliseconds} ms");
            return ok;
        }
        catch (StackException e)
        {
            MSBuildDiagnosticSink.Log(Log, Failing(e.Diagnostic));
        }
        catch (EngineUnavailableException e)
        {
            MSBuildDiagnosticSink.Log(Log, e.ToDiagnostic());
        }
        catch (EngineRequestException e)
        {
            MSBuildDiagnosticSink.Log(Log, Diagnostic.Error(nameof(Strings.EngineRequestFailed), Engine.Endpoint, e.Operation, e.Reason));
        }
        catch (EngineEndpointException e)
        {
            MSBuildDiagnosticSink.Log(Log, Diagnostic.Error(nameof(Strings.EngineEndpointInvalid), e.Endpoint, e.Reason));
        }
        catch (OperationCanceledException)
        {
            MSBuildDiagnosticSink.Log(Log, Failing(Diagnostic.Warning(nameof(Strings.ApplyCancelled), CancelledStackName, Strings.OutcomeNothingChanged)));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The last line of defence: whatever else escapes (an I/O error, a driver surprise) is a coded error with the
            // exception's own message, never MSB4018 and a stack trace. The trace is kept at low importance for bug reports.
            MSBuildDiagnosticSink.Log(Log, Diagnostic.Error(nameof(Strings.UnexpectedFailure), GetType().Name, e.GetType().Name, e.Message));
            Log.LogMessage(MessageImportance.Low, e.ToString());
        }
        finally
        {
            (_engine as IDisposable)?.Dispose();
            finished.Set();
            AppDomain.CurrentDomain.ProcessExit -= onExit;
            _cts.Dispose();
        }
        return false;

        // A cancellation is a warning where MSBuild cancelled the build (Ctrl-C: it says so itself). Where the process was
        // told to end (SIGTERM: a CI's timeout, dotnet watch restarting on a second save), MSBuild knows of no cancellation,
        // and a task that fails with only a warning gets MSB4181 ("returned false but did not log an error") added to it.
        Diagnostic Failing(Diagnostic d) => _exiting && !d.IsError ? d with { Severity = DiagnosticSeverity.Error } : d;
    }

    /// <summary>The stack named in the cancellation warning.</summary>
    private protected virtual string CancelledStackName => "";

    private protected abstract Task<bool> ExecuteAsync(CancellationToken ct);

    private protected static StackModel ReadModel(string path) => StackModelFile.Deserialize(File.ReadAllText(path));
}
