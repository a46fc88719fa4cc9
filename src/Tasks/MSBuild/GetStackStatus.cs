using System.Text;
using Microsoft.Build.Framework;
using ProxyStack.Model;
using ProxyStack.Planning;

namespace ProxyStack.MSBuild;

/// <summary>Prints a table of the stack's containers (role, state, readiness) and the URL.</summary>
public sealed class GetStackStatus : StackTask
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };

    /// <summary>Example: obj/Debug/net10.0/stack/model.json</summary>
    [Required] public string ModelFile { get; set; } = "";

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var model = ReadModel(ModelFile);
        await Engine.PingAsync(ct).ConfigureAwait(false);
        var (containers, networks) = await Engine.ListStackResourcesAsync(model.Name, [], ct).ConfigureAwait(false);
        var rows = new List<string[]> { new[] { "CONTAINER", "ROLE", "STATE", "READY", "ID" } };
        foreach (var c in containers.OrderBy(c => c.Role == StackLabels.RoleProxy ? 1 : 0).ThenBy(c => c.Replica ?? 0))
        {
            var status = await Engine.InspectContainerAsync(c.Name, StackNetworking.ContainerNetwork(model), ct).ConfigureAwait(false);
            var address = model.NetworkMode == StackNetworking.Host ? "127.0.0.1" : status?.IpAddress;
            var target = c.Role == StackLabels.RoleProxy
                ? model.Url + model.HealthPath
                : address is not null && c.Replica is { } n ? $"http://{address}:{StackNetworking.ReplicaPort(model, n)}{model.HealthPath}" : null;
            var ready = status is { Running: true } && target is not null && await AnswersAsync(target, ct).ConfigureAwait(false);
            rows.Add([c.Name, c.Role ?? "?", status?.State ?? "gone", ready ? "yes" : "no", c.ShortId]);
        }
        var widths = Enumerable.Range(0, 5).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var table = new StringBuilder();
        foreach (var row in rows) table.AppendLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
        Log.LogMessage(MessageImportance.High, $"Stack '{model.Name}' ({networks.Count} network, {containers.Count} container(s)):\n{table}URL: {model.Url}");
        return true;
    }

    private static async Task<bool> AnswersAsync(string url, CancellationToken ct)
    {
        try
        {
            using var response = await Http.GetAsync(url, ct).ConfigureAwait(false);
            return (int)response.StatusCode < 400;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested) { return false; }
    }
}
