using Microsoft.Build.Framework;
using ProxyStack.Diagnostics;
using ProxyStack.Execution;
using ProxyStack.Planning;

namespace ProxyStack.MSBuild;

/// <summary>
/// Removes every container and network that ProxyStack created for the stack, proxy first. Images stay, so the next bring-up is
/// fast; volumes (the key ring) stay unless <see cref="RemoveVolumes"/>, so sign-ins survive a StackDown and StackUp. Finds resources by the labels set at creation only, so it can never remove anything it did not create, and refuses
/// (STACK4012) a stack that another checkout owns unless StackAdopt is true. Succeeds when there is nothing to remove.
/// </summary>
public sealed class RemoveStack : StackTask
{
    /// <summary>Example: obj/Debug/net10.0/stack/model.json</summary>
    [Required] public string ModelFile { get; set; } = "";
    /// <summary>StackRemoveVolumes: remove the stack's volumes too (true|false). Example: false</summary>
    public string RemoveVolumes { get; set; } = "";

    private string _stack = "";

    private protected override string CancelledStackName => _stack;

    private protected override string ProfileLabel => "teardown";

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var model = ReadModel(ModelFile);
        _stack = model.Name;
        if (Model.StackValidator.ParseBool(RemoveVolumes) is not { } removeVolumes)
        {
            MSBuildDiagnosticSink.Log(Log, Diagnostic.Error(nameof(Strings.BooleanInvalid), "StackRemoveVolumes", RemoveVolumes));
            return false;
        }
        await Engine.PingAsync(ct).ConfigureAwait(false);
        using var _ = await StackLock.AcquireAsync(model.Name, StackLog, TimeSpan.FromSeconds(model.LockTimeoutSeconds), ct).ConfigureAwait(false);
        if (!model.Adopt)
        {
            var (containers, networks) = await Engine.ListStackResourcesAsync(model.Name, [], ct).ConfigureAwait(false);
            var volumes = await Engine.ListStackVolumesAsync(model.Name, [], ct).ConfigureAwait(false);
            if (Reconciler.OwnedElsewhere(model, new ObservedState { Containers = containers, Networks = networks, Volumes = volumes }) is { } elsewhere)
            {
                MSBuildDiagnosticSink.Log(Log, elsewhere);
                return false;
            }
        }
        var (_, failures) = await StackTeardown.RunAsync(Engine, StackLog, model.Name, owner: null, model.ProjectFile, ct, removeVolumes).ConfigureAwait(false);
        // Registrations of `dotnet run`s that have ended (one killed together with its reaper) leave with their stack.
        RunRegistry.RemoveEnded(model.Name);
        MSBuildDiagnosticSink.Log(Log, failures);
        return failures.Count == 0;
    }
}
