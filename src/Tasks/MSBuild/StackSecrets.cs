using System.Text.Json;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using ProxyStack.Diagnostics;
using ProxyStack.Execution;
using ProxyStack.Model;

namespace ProxyStack.MSBuild;

/// <summary>
/// Reads a stack's secret environment — StackEnvironment items with FromEnvironment or FromFile (the front project's, each
/// StackProject's, each backing container's) and the user secrets of the front project and of each StackProject — into the
/// model, in memory only: the model file on disk never holds a value, and the config-hash label holds them only keyed with a
/// salt that stays in the project's intermediate folder. Used by ApplyStack (the containers), DeployStackToSwarm (the
/// services) and PublishStackManifests (the manifests' secrets).
/// </summary>
internal sealed class StackSecrets(TaskLoggingHelper log, IStackLog stackLog, string modelFile)
{
    private byte[]? _salt;

    /// <summary>
    /// Key of the secret digests, kept beside the model in the project's intermediate folder (never in a label or an image):
    /// read, or made, once.
    /// </summary>
    public byte[] Salt => _salt ??= SecretDigests.LoadOrCreateSalt(SecretDigests.SaltPath(modelFile));

    /// <summary>
    /// The model with every secret value read; null after a source is unavailable (logged as a coded error).
    /// <paramref name="projectImages"/>: the StackProjects' image items, whose UserSecretsId metadata names each one's own user
    /// secrets (a StackProject runs in Development under `dotnet run` as when run alone, where its own secrets.json applies).
    /// </summary>
    public StackModel? Resolve(StackModel model, string userSecretsId, IEnumerable<ITaskItem> projectImages)
    {
        var secrets = new List<KeyValuePair<string, string>>();
        if (model.Secrets.Count > 0)
        {
            if (ReadSecrets(model.Secrets) is not { } values) return null;
            secrets.AddRange(values);
            stackLog.Step($"secret environment: {values.Count} value(s) read from their sources, passed to the replicas only");
        }
        var projectUserSecrets = new Dictionary<string, IReadOnlyList<KeyValuePair<string, string>>>(StringComparer.Ordinal);
        foreach (var item in projectImages)
        {
            if (!TryReadUserSecrets(item.GetMetadata("UserSecretsId"), out var values)) return null;
            if (values.Count > 0) projectUserSecrets[item.ItemSpec] = values;
        }
        if (model.Projects.Any(p => p.Secrets.Count > 0 || projectUserSecrets.ContainsKey(p.Name)))
        {
            // StackProjects' secrets (StackEnvironment items with Project, and each one's own user secrets): read now too, in
            // memory only, keyed into a digest.
            var projects = new List<AppProject>();
            foreach (var project in model.Projects)
            {
                var values = new List<KeyValuePair<string, string>>();
                if (project.Secrets.Count > 0)
                {
                    if (ReadSecrets(project.Secrets) is not { } read) return null;
                    values.AddRange(read);
                }
                if (projectUserSecrets.TryGetValue(project.Name, out var user))
                {
                    values.AddRange(UserSecrets.Unshadowed(user, project.Environment.Concat(values).Select(e => e.Key)));
                    stackLog.Step($"user secrets of StackProject '{project.Name}': {user.Count} value(s) passed to its replicas as environment");
                }
                if (values.Count == 0) { projects.Add(project); continue; }
                projects.Add(project with
                {
                    Environment = project.Environment.Concat(values).OrderBy(e => e.Key, StringComparer.Ordinal).ToList(),
                    SecretNames = values.Select(v => v.Key).ToHashSet(StringComparer.Ordinal),
                    SecretDigest = SecretDigests.Compute(Salt, values),
                });
            }
            model = model with { Projects = projects };
        }
        if (!TryReadUserSecrets(userSecretsId, out var userSecrets)) return null;
        if (model.Services.Any(sv => sv.Secrets.Count > 0))
        {
            // Backing containers' secrets (StackEnvironment items with Container): a connection string that holds one (a
            // database password) becomes a secret of the replicas.
            var resolved = ResolveServiceSecrets(model, secrets);
            if (resolved is null) return null;
            model = model with { Services = resolved };
        }
        if (userSecrets.Count > 0)
        {
            secrets.AddRange(UserSecrets.Unshadowed(userSecrets, model.Environment.Concat(secrets).Select(e => e.Key)));
            stackLog.Step($"user secrets: {userSecrets.Count} value(s) passed to the replicas as environment");
        }
        if (secrets.Count == 0) return model;
        return model with
        {
            Environment = model.Environment.Concat(secrets).OrderBy(e => e.Key, StringComparer.Ordinal).ToList(),
            SecretNames = secrets.Select(s => s.Key).ToHashSet(StringComparer.Ordinal),
            SecretDigest = SecretDigests.Compute(Salt, secrets),
        };
    }

    /// <summary>
    /// The backing containers with their secret values read (in memory only) and keyed into a digest for their config hash;
    /// each connection string holding one is added to <paramref name="appSecrets"/>. Null after an unavailable source (logged).
    /// </summary>
    private List<BackingService>? ResolveServiceSecrets(StackModel model, List<KeyValuePair<string, string>> appSecrets)
    {
        var services = new List<BackingService>();
        var count = 0;
        foreach (var service in model.Services)
        {
            if (service.Secrets.Count == 0) { services.Add(service); continue; }
            if (ReadSecrets(service.Secrets) is not { } values) return null;
            count += values.Count;
            var connection = BackingService.FillSecrets(service.ConnectionString, values);
            if (connection != service.ConnectionString && model.AppDependsOn.Contains(service.Name) && !model.Environment.Any(e => e.Key == service.EnvironmentName))
                appSecrets.Add(new(service.EnvironmentName, connection));
            services.Add(service with
            {
                Environment = service.Environment.Concat(values).OrderBy(e => e.Key, StringComparer.Ordinal).ToList(),
                SecretNames = values.Select(v => v.Key).ToHashSet(StringComparer.Ordinal),
                SecretDigest = SecretDigests.Compute(Salt, values),
                ConnectionString = connection,
            });
        }
        stackLog.Step($"secret environment of backing containers: {count} value(s) read from their sources, passed to their containers only");
        return services;
    }

    /// <summary>Secret values read from their sources (in memory only); null after one is unavailable (logged).</summary>
    private IReadOnlyList<KeyValuePair<string, string>>? ReadSecrets(IReadOnlyList<SecretSource> sources)
    {
        var (values, problems) = SecretEnvironment.Resolve(sources, Environment.GetEnvironmentVariable, File.ReadAllText);
        MSBuildDiagnosticSink.Log(log, problems);
        return problems.Count > 0 ? null : values;
    }

    /// <summary>
    /// The secrets.json of <paramref name="userSecretsId"/>, where `dotnet user-secrets` keeps it on this OS. A file that is
    /// not JSON is STACK1023 naming it (never a parser stack trace); false then.
    /// </summary>
    private bool TryReadUserSecrets(string userSecretsId, out IReadOnlyList<KeyValuePair<string, string>> secrets)
    {
        secrets = [];
        if (string.IsNullOrWhiteSpace(userSecretsId) || userSecretsId.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0) return true;
        var root = OperatingSystem.IsWindows()
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "Microsoft", "UserSecrets")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".microsoft", "usersecrets");
        var file = Path.Combine(root, userSecretsId, "secrets.json");
        if (!File.Exists(file)) return true;
        try
        {
            secrets = UserSecrets.ToEnvironment(File.ReadAllText(file));
            return true;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            MSBuildDiagnosticSink.Log(log, Diagnostic.Error(nameof(Strings.UserSecretsInvalid), file, e.Message));
            return false;
        }
    }
}
