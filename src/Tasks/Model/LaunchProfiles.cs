using System.Text.Json;
using ProxyStack.Diagnostics;

namespace ProxyStack.Model;

/// <summary>
/// The launch profile `dotnet run` applies (Properties/launchSettings.json): its environment reaches the replicas under
/// `dotnet run`, as it reaches a plain `dotnet run`'s app. `dotnet run` does not tell MSBuild which profile it will pick,
/// so ProxyStack reads it from dotnet run's command line where it can (<see cref="OnCommandLine"/>; Linux), else picks as
/// dotnet run does without --launch-profile — the first profile whose commandName is Project; StackLaunchProfile names one
/// outright. The runner warns when `dotnet run` applied another (DOTNET_LAUNCH_PROFILE).
/// </summary>
internal static class LaunchProfiles
{
    /// <summary>
    /// Variables ProxyStack sets itself (where the app listens): a launch profile's values for them would point Kestrel
    /// somewhere nginx does not send requests.
    /// </summary>
    public static readonly string[] OwnedNames =
    [
        "ASPNETCORE_URLS", "DOTNET_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_HTTP_PORTS",
        "DOTNET_HTTPS_PORTS", "HTTP_PORTS", "HTTPS_PORTS",
    ];

    /// <summary>What `dotnet run` sets in the app's environment: the name of the profile it applied.</summary>
    public const string ProfileVariable = "DOTNET_LAUNCH_PROFILE";

    public sealed record Profile(string Name, IReadOnlyList<KeyValuePair<string, string>> Environment);

    /// <summary>
    /// The profile to apply: <paramref name="requested"/> by name, else the first with commandName Project; null when the
    /// project has no launch settings or no such profile (and none was requested). A file that is not valid JSON, or a
    /// requested profile that is not in it, is an error naming <paramref name="path"/>.
    /// </summary>
    /// <param name="json">The file's content; null when the project has none.</param>
    /// <param name="path">The file's path, for messages.</param>
    /// <param name="requested">StackLaunchProfile, or a StackProject's LaunchProfile (empty: dotnet run's default).</param>
    /// <param name="project">The StackProject whose launch settings these are; empty for the front project's.</param>
    public static (Profile? Profile, Diagnostic? Error) Select(string? json, string path, string requested, string project = "")
    {
        requested = requested.Trim();
        Diagnostic NotFound(string why) => project.Length == 0
            ? Diagnostic.Error(nameof(Strings.LaunchProfileNotFound), requested, path, why)
            : Diagnostic.Error(nameof(Strings.ProjectLaunchProfileNotFound), project, requested, path, why);
        if (json is null)
            return requested.Length == 0 ? (null, null) : (null, NotFound("the file does not exist"));
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            return (null, Diagnostic.Error(nameof(Strings.LaunchSettingsInvalid), path, e.Message));
        }
        using (document)
        {
            var profiles = document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("profiles", out var p) && p.ValueKind == JsonValueKind.Object
                ? p.EnumerateObject().Where(e => e.Value.ValueKind == JsonValueKind.Object).ToList() : [];
            var index = requested.Length > 0 ? profiles.FindIndex(e => e.Name == requested) : profiles.FindIndex(e => CommandName(e.Value) == "Project");
            if (index < 0)
                return requested.Length == 0 ? (null, null) : (null, NotFound(
                    profiles.Count == 0 ? "it has no profiles" : "its profiles are " + string.Join(", ", profiles.Select(e => $"'{e.Name}'"))));
            var profile = profiles[index];
            var environment = new List<KeyValuePair<string, string>>();
            if (profile.Value.TryGetProperty("environmentVariables", out var variables) && variables.ValueKind == JsonValueKind.Object)
                foreach (var v in variables.EnumerateObject())
                    if (v.Name.Length > 0 && !v.Name.Contains('=') && !OwnedNames.Contains(v.Name, StringComparer.OrdinalIgnoreCase))
                        environment.Add(new(v.Name, v.Value.ValueKind == JsonValueKind.String ? v.Value.GetString()! : v.Value.GetRawText()));
            return (new Profile(profile.Name, environment), null);
        }
    }

    /// <summary>
    /// <paramref name="given"/> (StackEnvironment's plain values, which win) with <paramref name="profile"/>'s variables that
    /// neither they nor StackEnvironment's secrets (<paramref name="secrets"/>, whose values are read later) set, and the
    /// profile's name in DOTNET_LAUNCH_PROFILE as `dotnet run` sets it; <paramref name="given"/> alone without a profile.
    /// </summary>
    public static List<KeyValuePair<string, string>> Apply(IEnumerable<KeyValuePair<string, string>> given, Profile? profile, IEnumerable<SecretSource> secrets)
    {
        var result = given.ToList();
        if (profile is null) return result;
        var taken = result.Select(e => e.Key).Concat(secrets.Select(s => s.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, value) in profile.Environment.Append(new(ProfileVariable, profile.Name)))
            if (taken.Add(name)) result.Add(new(name, value));
        return result;
    }

    /// <summary>
    /// The runner's warning when `dotnet run --launch-profile X` applied X (<paramref name="applied"/>, from
    /// DOTNET_LAUNCH_PROFILE) to the runner alone and the replicas got another profile with other variables; null when they
    /// got X, or one that sets the same (<see cref="SameEnvironment"/>, reading the model's launch settings file).
    /// </summary>
    public static string? Mismatch(string? applied, StackModel model)
    {
        if (applied is not { Length: > 0 } || applied == model.LaunchProfile) return null;
        var json = model.LaunchSettingsFile.Length > 0 && File.Exists(model.LaunchSettingsFile) ? File.ReadAllText(model.LaunchSettingsFile) : null;
        return SameEnvironment(json, applied, model.LaunchProfile) ? null
            : string.Format(Strings.LaunchProfileMismatch, applied, model.LaunchProfile.Length > 0 ? $"'{model.LaunchProfile}'" : "none");
    }

    /// <summary>
    /// The runner's note when the profile `dotnet run` applied (<paramref name="applied"/>) listens on HTTPS — its
    /// applicationUrl, which dotnet run hands the runner as <paramref name="urls"/> (ASPNETCORE_URLS), as the templates'
    /// "https" profile does — and the stack serves none: the profile's URLs are the app's, not the stack's, and HTTPS
    /// through nginx is StackHttpsPort's. The port suggested is the profile's own (8443 where it names none). Null otherwise.
    /// </summary>
    public static string? HttpsNotServed(string? applied, string? urls, StackModel model)
    {
        if (applied is not { Length: > 0 } || model.HttpsPort > 0 || urls is null) return null;
        var https = urls.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(u => u.StartsWith("https://", StringComparison.OrdinalIgnoreCase));
        if (https is null) return null;
        var port = Uri.TryCreate(https.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri) && !uri.IsDefaultPort
            ? uri.Port : 8443;
        return string.Format(Strings.LaunchProfileHttpsNotServed, applied, https, model.Name, port);
    }

    /// <summary>
    /// Whether launch profiles <paramref name="applied"/> and <paramref name="replicas"/> ("": none) give the app the same
    /// environment (the variables ProxyStack owns aside): the templates' "http" and "https" differ only in their URLs, so
    /// the replicas of either run as the app `dotnet run -lp https` runs. False when either cannot be read.
    /// </summary>
    public static bool SameEnvironment(string? json, string applied, string replicas)
    {
        IEnumerable<KeyValuePair<string, string>>? Of(string name) => name.Trim().Length == 0 ? []
            : Select(json, "", name) is ({ } profile, null) ? profile.Environment.OrderBy(e => e.Key, StringComparer.Ordinal) : null;
        return Of(applied) is { } a && Of(replicas) is { } b && a.SequenceEqual(b);
    }

    /// <summary>
    /// Whether launch profile <paramref name="name"/> runs the app on the host: its environmentVariables set StackAppOnHost to
    /// true. (Visual Studio tells the build which profile is selected, as $(ActiveDebugProfile); `dotnet run` does not.) A
    /// missing file, profile or variable, or unreadable JSON: false — the build never fails over an IDE's selection.
    /// </summary>
    public static bool AppOnHost(string? json, string name)
    {
        if (json is null || name.Trim().Length == 0) return false;
        var (profile, error) = Select(json, "", name);
        return error is null && profile is not null
            && profile.Environment.Any(e => e.Key == "StackAppOnHost" && StackValidator.ParseBool(e.Value) == true);
    }

    /// <summary>
    /// What a `dotnet run` command line says of the launch profile: the name -lp/--launch-profile gives ("-lp X", "-lp=X",
    /// "-lp:X"), "" for --no-launch-profile, null when it says neither or is not `dotnet run`. The app's own arguments, after
    /// "--", are not read.
    /// </summary>
    public static string? OnCommandLine(IReadOnlyList<string> args)
    {
        if (!IsDotnetRun(args)) return null;
        for (var i = 2; i < args.Count && args[i] != "--"; i++)
        {
            if (args[i] == "--no-launch-profile") return "";
            foreach (var option in LaunchProfileOptions)
            {
                if (args[i] == option && i + 1 < args.Count) return args[i + 1];
                if (args[i].Length > option.Length + 1 && args[i].StartsWith(option, StringComparison.Ordinal) && args[i][option.Length] is '=' or ':')
                    return args[i][(option.Length + 1)..];
            }
        }
        return null;
    }

    private static readonly string[] LaunchProfileOptions = ["--launch-profile", "-lp"];

    /// <summary>`dotnet run …`: the muxer's own command line.</summary>
    public static bool IsDotnetRun(IReadOnlyList<string> args) =>
        args.Count > 1 && Path.GetFileNameWithoutExtension(args[0]) == "dotnet" && args[1] == "run";

    private static string? CommandName(JsonElement profile) =>
        profile.TryGetProperty("commandName", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
}
