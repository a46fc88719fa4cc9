using System.Globalization;
using ProxyStack.Planning;

namespace ProxyStack.Execution;

/// <summary>
/// Where a bring-up's time went, by phase: the wall-clock span of each phase (first step started to last step finished).
/// Replicas run side by side, so phases overlap and their spans do not add up to the total. Logged at detailed verbosity
/// ("profile: …"), so a regression shows which phase grew.
/// </summary>
internal sealed class StepProfile
{
    private readonly List<(string Phase, TimeSpan Start, TimeSpan End)> _steps = [];
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    /// <summary>Phases in the order a bring-up goes through them.</summary>
    public static readonly string[] Phases = ["network", "retire", "create", "start", "readiness", "proxy", "drain", "stop", "images"];

    public TimeSpan Now => _clock.Elapsed;

    public void Record(PlanStep step, string proxyName, TimeSpan start, TimeSpan end)
    {
        lock (_steps) _steps.Add((PhaseOf(step, proxyName), start, end));
    }

    public static string PhaseOf(PlanStep step, string proxyName) => step.Kind switch
    {
        StepKind.CreateNetwork or StepKind.RemoveNetwork => "network",
        StepKind.RetireContainer => "retire",
        StepKind.ReloadProxy or StepKind.WaitProxy or StepKind.AwaitResolver => "proxy",
        StepKind.JoinUpstream => "readiness",
        StepKind.CreateContainer or StepKind.StartContainer when step.Resource == proxyName => "proxy",
        StepKind.CreateContainer => "create",
        StepKind.StartContainer => "start",
        StepKind.WaitReady => "readiness",
        StepKind.Drain => "drain",
        StepKind.StopContainer or StepKind.RemoveContainer => "stop",
        StepKind.RemoveImage => "images",
        _ => step.Kind.ToString(),
    };

    /// <summary>Example: "network 180 ms · create 150 ms (4 steps) · start 2310 ms (4 steps) · … · total 6020 ms"</summary>
    public string Summarize(TimeSpan total)
    {
        lock (_steps) return Summarize(_steps, total);
    }

    public static string Summarize(IReadOnlyCollection<(string Phase, TimeSpan Start, TimeSpan End)> steps, TimeSpan total)
    {
        var parts = steps.GroupBy(s => s.Phase)
            .OrderBy(g => Array.IndexOf(Phases, g.Key) is var i and >= 0 ? i : int.MaxValue)
            .Select(g =>
            {
                var span = (long)(g.Max(s => s.End) - g.Min(s => s.Start)).TotalMilliseconds;
                var count = g.Count();
                return string.Create(CultureInfo.InvariantCulture, $"{g.Key} {span} ms{(count > 1 ? $" ({count} steps)" : "")}");
            });
        return string.Join(" · ", parts.Append(string.Create(CultureInfo.InvariantCulture, $"total {(long)total.TotalMilliseconds} ms")));
    }
}
