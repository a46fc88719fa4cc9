using Microsoft.Build.Framework;
using ProxyStack.Diagnostics;
using ProxyStack.Execution;
using ProxyStack.Manifests;
using ProxyStack.Proxy;

namespace ProxyStack.MSBuild;

/// <summary>
/// StackPublish: writes the stack for StackTarget — a compose file, or Kubernetes manifests — with nginx's config, under
/// OutputDirectory. Nothing on the engine changes (for compose, a container of each app image is created and removed unstarted,
/// to read the user its key ring is given to). Secret settings are read as StackUp reads them and written only into the
/// target's secret files (mode 0600 on Unix), never beside the plain settings.
/// </summary>
public sealed class PublishStackManifests : StackTask
{
    /// <summary>Example: obj/Debug/net10.0/stack/model.json</summary>
    [Required] public string ModelFile { get; set; } = "";
    /// <summary>compose or kubernetes.</summary>
    public string Target { get; set; } = "";
    /// <summary>The front project's image, by the reference the target pulls. Example: hellostack:latest</summary>
    [Required] public string AppImage { get; set; } = "";
    /// <summary>The front project's image by the id its build produced (what the engine is asked about). Example: sha256:4f…</summary>
    public string AppImageId { get; set; } = "";
    /// <summary>Each StackProject's image: Include is the project's name, metadata Reference the image reference and Image its id. Example: api</summary>
    public ITaskItem[] ProjectImages { get; set; } = [];
    /// <summary>The nginx version of StackNginxImage (from InspectStackProxyBase; empty: unknown). Example: 1.30.6</summary>
    public string NginxVersion { get; set; } = "";
    /// <summary>The project's UserSecretsId, if any: its secrets become the replicas' secret settings. Example: 8f3c…</summary>
    public string UserSecretsId { get; set; } = "";
    /// <summary>Where the files go; what it held from an earlier StackPublish of this target is replaced. Example: bin/Release/net10.0/publish/stack/compose/</summary>
    [Required] public string OutputDirectory { get; set; } = "";

    /// <summary>The files written.</summary>
    [Output] public ITaskItem[] PublishedFiles { get; set; } = [];

    private protected override string? StackDirectory => Path.GetDirectoryName(Path.GetFullPath(ModelFile));

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var model = ReadModel(ModelFile) with { NginxVersion = NginxVersion };
        var target = Target.Trim().ToLowerInvariant();
        var problems = StackWorkloads.Check(model, target, accepted: StackTargets.Published);
        MSBuildDiagnosticSink.Log(Log, problems);
        if (problems.Any(p => p.IsError)) return false;
        if (new StackSecrets(Log, StackLog, ModelFile).Resolve(model, UserSecretsId, ProjectImages) is not { } withSecrets) return false;
        var published = StackWorkloads.ForTarget(withSecrets, target);
        var projectImages = ProjectImages.ToDictionary(i => i.ItemSpec, i => i.GetMetadata("Reference"), StringComparer.Ordinal);
        var workloads = StackWorkloads.Build(published, AppImage, projectImages);
        var config = NginxConfigWriter.Write(published);
        var files = new List<(string Name, string Text, bool Secret)>();
        if (target == StackTargets.Compose)
        {
            // Compose has no fsGroup: its one-shot keys-owner gives each ring to the user of its replicas' image, read here
            // from the image the build just made, as StackUp reads it at each create.
            // Asked by id where the build gave one: the reference's tag may have moved since.
            var ids = ProjectImages.Where(i => i.GetMetadata("Image").Length > 0).DistinctBy(i => i.GetMetadata("Reference")).ToDictionary(i => i.GetMetadata("Reference"), i => i.GetMetadata("Image"), StringComparer.Ordinal);
            if (AppImageId.Length > 0) ids[AppImage] = AppImageId;
            var users = new Dictionary<string, (int Uid, int Gid)>(StringComparer.Ordinal);
            foreach (var image in ComposeFile.RingImages(workloads))
                users[image] = await ImageUser.ResolveAsync(Engine, published, ids.GetValueOrDefault(image, image), ct).ConfigureAwait(false);
            files.Add((ComposeFile.FileName, ComposeFile.Write(published, workloads, users), false));
            files.Add((ComposeFile.ConfigFileName, config, false));
            files.AddRange(workloads.Where(w => w.Secrets.Count > 0).Select(w => (ComposeFile.SecretsFileName(w.Name), ComposeFile.SecretsFile(w), true)));
        }
        else
        {
            files.Add((KubernetesManifests.FileName, KubernetesManifests.Serialize(published, KubernetesManifests.Objects(published, workloads, config), "the stack"), false));
            var secrets = KubernetesManifests.Secrets(published, workloads);
            if (secrets.Count > 0) files.Add((KubernetesManifests.SecretsFileName, KubernetesManifests.Serialize(published, secrets, "its secret settings (keep this file out of source control)"), true));
        }
        // The folder holds this StackPublish's files only: a secrets file an earlier one wrote for a setting since removed goes.
        if (Directory.Exists(OutputDirectory)) Directory.Delete(OutputDirectory, recursive: true);
        Directory.CreateDirectory(OutputDirectory);
        foreach (var (name, text, secret) in files)
        {
            var path = Path.Combine(OutputDirectory, name);
            if (secret && !OperatingSystem.IsWindows())
            {
                // Created readable by its owner only, before the first byte is written.
                using var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
                using var writer = new StreamWriter(stream);
                writer.Write(text);
            }
            else File.WriteAllText(path, text);
        }
        PublishedFiles = files.Select(f => (ITaskItem)new Microsoft.Build.Utilities.TaskItem(Path.Combine(OutputDirectory, f.Name))).ToArray();
        StackLog.Milestone(string.Format(System.Globalization.CultureInfo.InvariantCulture, Strings.StackPublished, model.Name, target, Path.GetFullPath(OutputDirectory),
            workloads.Count, target == StackTargets.Compose ? $"docker compose -p {model.Name} up -d" : $"kubectl apply -f {Path.GetFullPath(OutputDirectory)}"));
        return true;
    }
}
