using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Build.Framework;

namespace ProxyStack.MSBuild;

/// <summary>
/// The foreground of `dotnet run`: streams every container's output with a coloured per-container prefix (as compose does)
/// until Ctrl-C (MSBuild cancels the task) or SIGTERM, then removes the whole stack unless StackKeepRunning is true.
/// </summary>
public sealed class RunStack : StackTask
{
    private static readonly string[] Colors = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

    /// <summary>Example: obj/Debug/net10.0/stack/model.json</summary>
    [Required] public string ModelFile { get; set; } = "";

    private string _stack = "";
    private protected override string CancelledStackName => _stack;

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var model = ReadModel(ModelFile);
        _stack = model.Name;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; stop.Cancel(); });

        var lines = Channel.CreateUnbounded<string>();
        var (containers, _) = await Engine.ListStackResourcesAsync(model.Name, [], stop.Token).ConfigureAwait(false);
        var color = Environment.GetEnvironmentVariable("NO_COLOR") is null;
        var width = containers.Count == 0 ? 0 : containers.Max(c => c.Name.Length);
        var followers = containers.OrderBy(c => c.Name, StringComparer.Ordinal).Select((c, i) =>
        {
            var prefix = c.Name.PadRight(width) + " | ";
            if (color) prefix = $"\u001b[{Colors[i % Colors.Length]}m{prefix}\u001b[0m";
            return FollowAsync(c.Name, prefix, lines.Writer, stop.Token);
        }).ToList();

        Log.LogMessage(MessageImportance.High, $"Stack '{model.Name}': {model.Replicas} replica(s) behind nginx at {model.Url} — press Ctrl-C to stop.");
        try
        {
            await foreach (var line in lines.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
                Log.LogMessage(MessageImportance.High, line);
        }
        catch (OperationCanceledException) { }
        await Task.WhenAll(followers).ConfigureAwait(false);

        if (model.KeepRunning)
        {
            Log.LogMessage(MessageImportance.High, string.Format(Strings.StackKeptRunning, model.Name));
            return true;
        }
        Log.LogMessage(MessageImportance.High, string.Format(Strings.StackStopping, model.Name));
        using var teardown = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await RemoveStack.TeardownAsync(this, Engine, model.Name, teardown.Token).ConfigureAwait(false);
    }

    private async Task FollowAsync(string name, string prefix, ChannelWriter<string> writer, CancellationToken ct)
    {
        try
        {
            await Engine.FollowLogsAsync(name, line => writer.TryWrite(prefix + line), ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (e is ProxyStack.Engine.EngineRequestException or ProxyStack.Engine.EngineUnavailableException or IOException)
        {
            writer.TryWrite(prefix + "(log stream ended: " + e.Message + ")");
        }
    }
}
