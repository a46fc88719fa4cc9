using Microsoft.Build.Framework;
using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Execution;

namespace ProxyStack.MSBuild;

/// <summary>StackDown with StackTarget=swarm: removes every service, config and network of the swarm stack (volumes with StackRemoveVolumes), by its label only.</summary>
public sealed class RemoveSwarmStack : StackTask
{
    /// <summary>Example: obj/Debug/net10.0/stack/model.json</summary>
    [Required] public string ModelFile { get; set; } = "";
    /// <summary>StackRemoveVolumes (true|false). Example: false</summary>
    public string RemoveVolumes { get; set; } = "";

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var model = ReadModel(ModelFile);
        if (Model.StackValidator.ParseBool(RemoveVolumes) is not { } removeVolumes)
        {
            MSBuildDiagnosticSink.Log(Log, Diagnostic.Error(nameof(Strings.BooleanInvalid), "StackRemoveVolumes", RemoveVolumes));
            return false;
        }
        if (Engine is not DockerEngine engine) throw new InvalidOperationException("StackDown -p:StackTarget=swarm needs a Docker engine.");
        using var _ = await StackLock.AcquireAsync("swarm-" + model.Name, StackLog, TimeSpan.FromSeconds(model.LockTimeoutSeconds), ct).ConfigureAwait(false);
        var deployer = new SwarmDeployer(engine, StackLog);
        if (!model.Adopt && await deployer.OtherOwnerAsync(model.Name, model.Owner, ct).ConfigureAwait(false) is { } owner)
        {
            MSBuildDiagnosticSink.Log(Log, Diagnostic.Error(nameof(Strings.StackOwnedElsewhere), model.Name, owner, model.Owner));
            return false;
        }
        var removed = await deployer.RemoveAsync(model.Name, removeVolumes, ct).ConfigureAwait(false);
        StackLog.Milestone(removed.Count == 0 ? $"Swarm stack '{model.Name}': nothing to remove." : $"Swarm stack '{model.Name}' removed: {string.Join(", ", removed)}.");
        return true;
    }
}
