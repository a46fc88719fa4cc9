using ProxyStack.Diagnostics;

namespace ProxyStack.Model;

/// <summary>Turns raw input into a model, or into the diagnostics that explain why it cannot.</summary>
internal static class StackModelBuilder
{
    /// <summary>The variables .NET's hosts read the environment name from (which wins when both are set depends on the host).</summary>
    public static readonly string[] RunEnvironmentNames = ["ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT"];

    /// <summary>
    /// Under `dotnet run`: Development in both variables unless the environment already names one in either (a launch
    /// profile's ASPNETCORE_ENVIRONMENT, a StackEnvironment item), and then neither is added. WebApplication.CreateBuilder
    /// reads DOTNET_ENVIRONMENT over ASPNETCORE_ENVIRONMENT: a Development default beside a profile's Staging made the app
    /// run in Development (measured), where a plain `dotnet run` of that profile runs it in Staging.
    /// </summary>
    private static IEnumerable<KeyValuePair<string, string>> InDevelopmentUnlessNamed(IEnumerable<KeyValuePair<string, string>> environment) =>
        environment.Any(e => RunEnvironmentNames.Contains(e.Key)) ? environment
            : environment.Concat(RunEnvironmentNames.Select(n => new KeyValuePair<string, string>(n, "Development")));

    public static (StackModel? Model, IReadOnlyList<Diagnostic> Diagnostics) Build(StackInput input)
    {
        var (settings, diagnostics) = StackValidator.Validate(input);
        // Only `dotnet run` applies a launch profile; a build server's StackUp never reads it. Read once, here: an unreadable
        // file or an unknown profile is reported beside the validator's errors.
        var (launchProfile, launchError) = input.UnderRun ? LaunchProfiles.Select(input.LaunchSettings, input.LaunchSettingsPath, input.LaunchProfile) : (null, null);
        if (launchError is not null) diagnostics = [.. diagnostics, launchError];
        // Each StackProject's own launch profile too, as a plain `dotnet run` of it would apply it (Aspire applies a project
        // resource's the same way): its LaunchProfile metadata, else the first whose commandName is Project.
        var projectProfiles = new Dictionary<string, LaunchProfiles.Profile>(StringComparer.Ordinal);
        foreach (var p in input.UnderRun ? input.Projects : [])
        {
            var (profile, error) = LaunchProfiles.Select(p.LaunchSettings, p.LaunchSettingsPath, p.LaunchProfile, p.Name);
            if (error is not null) diagnostics = [.. diagnostics, error];
            else if (profile is not null) projectProfiles[p.Name] = profile;
        }
        if (settings is null || diagnostics.Any(d => d.IsError)) return (null, diagnostics);

        var nginx = settings.Nginx;
        if (input.RegistryMirror.Length > 0) nginx = nginx.WithMirror(input.RegistryMirror);
        var given = input.Environment.GroupBy(e => e.Key, StringComparer.Ordinal).Select(g => g.Last()).ToList();
        // Under `dotnet run` the replicas run as a plain `dotnet run` runs the app: with the launch profile's environment (and
        // its name in DOTNET_LAUNCH_PROFILE), in Development (appsettings.Development.json, the developer exception page)
        // unless the profile or StackEnvironment says otherwise; StackEnvironment wins. StackUp — a build server — keeps
        // Production and reads no launch profile.
        var environment = (input.UnderRun ? InDevelopmentUnlessNamed(LaunchProfiles.Apply(given, launchProfile, input.Secrets)) : given).OrderBy(e => e.Key, StringComparer.Ordinal).ToList();
        var (healthPath, healthStrict) = HealthChecks.Probe(input.HealthPath, input.DiscoveredHealthPath);
        var stackName = settings.Name;
        var (services, appDependsOn) = BackingServices.Build(input, settings.Containers, stackName);
        var appOnHostPort = settings.AppOnHostPort;
        var replicas = settings.Replicas;
        // StackProjects run under `dotnet run` as the front project does: with their own launch profile's environment, in
        // Development unless it or their own StackEnvironment says otherwise.
        var projects = StackProjects.Build(input, settings.Projects, settings.SharedKeys).Select(p => !input.UnderRun ? p : p with
        {
            Environment = InDevelopmentUnlessNamed(LaunchProfiles.Apply(p.Environment, projectProfiles.GetValueOrDefault(p.Name), p.Secrets))
                .OrderBy(e => e.Key, StringComparer.Ordinal).ToList(),
        }).Select(p => p with
        {
            // Read in the environment it runs in (Development under `dotnet run`).
            Databases = FileDatabases.Find(input.Projects.First(i => i.Name == p.Name).AppSettings, Wired(p.Environment, services, p.DependsOn)),
        }).ToList();
        var model = new StackModel
        {
            Services = services,
            Projects = projects,
            AppDependsOn = appDependsOn,
            Name = stackName,
            // The app on the host is the front project's only instance: no replica of it runs in a container.
            Replicas = appOnHostPort > 0 ? 0 : replicas,
            DeclaredReplicas = replicas,
            AppOnHostPort = appOnHostPort,
            HostAddress = input.HostAddress.Trim(),
            HostPort = settings.HostPort,
            AppPort = settings.AppPort,
            HealthPath = healthPath,
            HealthStrict = healthStrict,
            AppProtocol = AppProtocols.Of(settings.AppProtocol, input.DetectedHttp2Only),
            ReadyTimeoutSeconds = settings.ReadyTimeoutSeconds,
            NginxImage = nginx.ToString(),
            ProbeToken = input.ProbeToken,
            NetworkMode = input.NetworkMode,
            KeepRunning = settings.KeepRunning,
            Environment = environment,
            LaunchProfile = launchProfile?.Name ?? "",
            LaunchSettingsFile = input.UnderRun && input.LaunchSettings is not null ? input.LaunchSettingsPath : "",
            KeyRingDirectory = KeyRing.DirectoryFor(settings.SharedKeys, input.StoresOwnKeys, environment),
            Databases = FileDatabases.Find(input.AppSettings, Wired(environment, services, appDependsOn)),
            Secrets = input.Secrets.OrderBy(s => s.Name, StringComparer.Ordinal).ToList(),
            Owner = input.Owner,
            ProjectFile = input.ProjectFile,
            LockTimeoutSeconds = settings.LockTimeoutSeconds,
            MaxRequestBodySize = settings.MaxRequestBodySize,
            ProxyReadTimeoutSeconds = settings.ProxyReadTimeoutSeconds,
            SessionAffinity = settings.SessionAffinity,
            HttpsPort = settings.HttpsPort,
            HttpsRedirect = settings.HttpsRedirect,
            CertificateFile = input.CertificateFile,
            CertificateKeyFile = input.CertificateKeyFile,
            ProxyConfigs = input.ProxyConfigs.Select(c => new ProxyConfigSnippet(c.Path, c.Block.Length == 0 ? ProxyConfigSnippet.Server : c.Block.Trim().ToLowerInvariant(), c.Content!)).ToList(),
            Adopt = settings.Adopt,
            Ephemeral = input.UnderRun && !settings.KeepRunning,
        };
        return (model, diagnostics);
    }

    /// <summary>A replica set's environment with the connection strings of the backing containers it depends on (see StackNetworking.AppEnvironment).</summary>
    private static List<KeyValuePair<string, string>> Wired(IReadOnlyList<KeyValuePair<string, string>> environment, IReadOnlyList<BackingService> services, IReadOnlyList<string> dependsOn) =>
        [.. environment, .. BackingServices.WiredTo(services, dependsOn).Select(s => new KeyValuePair<string, string>(s.EnvironmentName, s.ConnectionString))];
}
