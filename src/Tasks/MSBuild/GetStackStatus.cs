using System.Text;
using Microsoft.Build.Framework;
using ProxyStack.Execution;
using ProxyStack.Model;
using ProxyStack.Planning;

namespace ProxyStack.MSBuild;

/// <summary>
/// Prints a table of the stack's containers (role, state, readiness), its kept volumes and the URL. A throwaway a build
/// made outside the stack lock (a version probe, a user probe, a probe relay) is listed as one, not probed.
/// </summary>
public sealed class GetStackStatus : StackTask
{
    /// <summary>Example: obj/Debug/net10.0/stack/model.json</summary>
    [Required] public string ModelFile { get; set; } = "";

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var model = ReadModel(ModelFile);
        await Engine.PingAsync(ct).ConfigureAwait(false);
        var (containers, networks) = await Engine.ListStackResourcesAsync(model.Name, [], ct).ConfigureAwait(false);
        var volumes = (await Engine.ListStackVolumesAsync(model.Name, [], ct).ConfigureAwait(false)).Where(v => v.BelongsTo(model.Name)).ToList();
        var rows = new List<string[]> { new[] { "CONTAINER", "ROLE", "STATE", "READY", "ID" } };
        // Replicas are asked through a probe relay on the stack's network, as the bring-up asks them; this task holds no stack
        // lock, so a StackUp beside it is told to leave the relay alone.
        await using var relay = new ProbeRelay(Engine, StackLog, model, model.NginxImage, outsideTheLock: true);
        var waiter = new ReadinessWaiter(Engine, StackLog, relay);
        foreach (var c in containers.Where(c => c.BelongsTo(model.Name)).OrderBy(c => c.Role == StackLabels.RoleProxy ? 1 : 0).ThenBy(c => c.Project, StringComparer.Ordinal).ThenBy(c => c.Replica ?? 0))
        {
            var status = await Engine.InspectContainerAsync(c.Name, StackNetworking.ContainerNetwork(model), ct).ConfigureAwait(false);
            if (c.Label(StackLabels.InUseUntil) is not null)
            {
                rows.Add([c.Name, "throwaway", status?.State ?? "gone", "-", c.ShortId]);
                continue;
            }
            // The same probes as the bring-up: a replica on its address on the network, the proxy through its URL.
            // A backing container counts as ready while it runs (its ReadyWhen rule was checked when it started).
            var ready = status is { Running: true } && (c.Role == StackLabels.RoleService || (c.Role == StackLabels.RoleProxy
                ? (await ReadinessWaiter.ProbeAsync(new Uri(model.ServedUrl + model.HealthPath), model.ProxyHealth, model.ProbeToken, ct).ConfigureAwait(false)).Ok
                : c.Replica is { } n && model.SetOf(c.Project) is { } set
                    && await waiter.ProbeReplicaOnceAsync(c.Name, StackNetworking.ContainerNetwork(model), StackNetworking.ProbeAddress(model),
                        StackNetworking.ReplicaPort(set, n), set.Health, ct).ConfigureAwait(false) is null));
            rows.Add([c.Name, c.Project.Length > 0 ? $"{c.Role} ({c.Project})" : c.Role ?? "?", status?.State ?? "gone", ready ? "yes" : "no", c.ShortId]);
        }
        var widths = Enumerable.Range(0, 5).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var table = new StringBuilder();
        foreach (var row in rows) table.AppendLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
        var kept = volumes.Count == 0 ? "" : $"Volumes (kept by StackDown): {string.Join(", ", volumes.Select(v => v.Name).Order(StringComparer.Ordinal))}\n";
        var engine = Engine is Engine.DockerEngine docker ? $"Engine: {docker.Choice}\n" : "";
        Log.LogMessage(MessageImportance.High, $"Stack '{model.Name}' ({networks.Count} network, {containers.Count} container(s)):\n{table}{kept}{engine}URL: {model.ServedUrl}");
        return true;
    }
}
