using System.Text.Json;
using ProxyStack.Diagnostics;
using ProxyStack.Resources;

namespace ProxyStack.Model;

/// <summary>
/// The settings a database's or broker's image reads only when it initializes an empty data volume — the password, the user,
/// the database it creates (<see cref="KnownImages.FirstStartVariables"/>). Changed while the volume is kept, a setting reaches
/// the dependants' connection strings but not the server, which keeps the old one: "password authentication failed" after
/// an edit, with nothing pointing at the volume. ApplyStack keeps each such container's settings from one successful StackUp
/// to the next (DeployStackToSwarm from one StackDeploy to the next, in a stamp of its own: a swarm's volumes are not this
/// engine's), as digests keyed with the stack's secret salt (<see cref="SecretDigests"/>: the file confirms no guessed
/// password), beside the model file, and warns with STACK1062 when one changed while a volume of the container was there.
/// </summary>
internal static class FirstStartSettings
{
    /// <summary>The stamp of <paramref name="stack"/>'s settings in its stack directory, beside the model (one project may run several stacks).</summary>
    public static string StampFile(string stackDirectory, string stack) => Path.Combine(stackDirectory, $"first-start.{stack}.json");

    /// <summary>
    /// Before a change: the digests to save once it succeeded (null when no backing container has such settings and a volume)
    /// and STACK1062 for each container whose settings differ from <paramref name="stampFile"/>'s while one of its volumes is
    /// among <paramref name="existingVolumes"/> (observed before any change); <paramref name="swarm"/>: StackDeploy's check,
    /// whose message names it and its StackDown.
    /// </summary>
    public static (Dictionary<string, Dictionary<string, string>>? Digests, IReadOnlyList<Diagnostic> Warnings) Check(
        StackModel model, byte[] salt, string stampFile, IEnumerable<string> existingVolumes, bool swarm = false)
    {
        if (!Applies(model)) return (null, []);
        var digests = Digests(model, salt);
        return (digests, Changed(model, Load(stampFile), digests, existingVolumes.ToHashSet(StringComparer.Ordinal), swarm));
    }

    /// <summary>Whether any backing container has first-start settings and a volume to keep them in.</summary>
    public static bool Applies(StackModel model) => model.Services.Any(s => s.Volumes.Count > 0 && KnownImages.FirstStartVariables(s.Image).Count > 0);

    /// <summary>
    /// Each such container's settings (by container name, then variable; an unset one as empty), keyed with
    /// <paramref name="salt"/>; "" holds a digest of the salt alone, so that a stamp made with another salt (the intermediate
    /// folder was cleaned) is recognised as unreadable instead of as every setting changed.
    /// </summary>
    public static Dictionary<string, Dictionary<string, string>> Digests(StackModel model, byte[] salt)
    {
        var digests = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal)
        {
            [""] = new(StringComparer.Ordinal) { [""] = SecretDigests.Compute(salt, []) },
        };
        foreach (var service in model.Services.Where(s => s.Volumes.Count > 0))
        {
            var names = KnownImages.FirstStartVariables(service.Image);
            if (names.Count == 0) continue;
            digests[service.Name] = names.ToDictionary(n => n,
                n => SecretDigests.Compute(salt, [new(n, service.Environment.FirstOrDefault(e => e.Key == n).Value ?? "")]), StringComparer.Ordinal);
        }
        return digests;
    }

    /// <summary>
    /// STACK1062 for each backing container whose first-start settings differ from <paramref name="previous"/> (the last
    /// successful StackUp's) while a volume of it already exists (<paramref name="existingVolumes"/>, observed before any change).
    /// </summary>
    public static IReadOnlyList<Diagnostic> Changed(StackModel model, IReadOnlyDictionary<string, Dictionary<string, string>> previous,
        IReadOnlyDictionary<string, Dictionary<string, string>> current, IReadOnlySet<string> existingVolumes, bool swarm = false)
    {
        if (!previous.TryGetValue("", out var check) || !current.TryGetValue("", out var salt) || check.GetValueOrDefault("") != salt.GetValueOrDefault("")) return [];
        var warnings = new List<Diagnostic>();
        foreach (var service in model.Services)
        {
            if (!previous.TryGetValue(service.Name, out var before) || !current.TryGetValue(service.Name, out var now)) continue;
            var changed = now.Where(n => before.TryGetValue(n.Key, out var digest) && digest != n.Value).Select(n => n.Key).ToList();
            var kept = service.Volumes.Select(v => v.Name).Where(existingVolumes.Contains).ToList();
            if (changed.Count > 0 && kept.Count > 0)
                warnings.Add(Diagnostic.Warning(nameof(Strings.FirstStartSettingChanged), service.Name, string.Join(", ", changed), string.Join(", ", kept),
                    swarm ? "StackDeploy" : "StackUp", swarm ? " -p:StackTarget=swarm" : ""));
        }
        return warnings;
    }

    /// <summary>The stamp's digests; empty when there is none or it cannot be read (nothing to compare with).</summary>
    public static Dictionary<string, Dictionary<string, string>> Load(string path)
    {
        try
        {
            if (File.Exists(path) && JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, string>>>(File.ReadAllText(path)) is { } read) return read;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { }
        return [];
    }

    /// <summary>Writes the stamp (owner-only, as the salt).</summary>
    public static void Save(string path, Dictionary<string, Dictionary<string, string>> digests)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var file = new FileStream(path, options);
        JsonSerializer.Serialize(file, digests);
    }
}
