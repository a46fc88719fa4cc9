using Microsoft.Build.Framework;
using ProxyStack.Proxy;

namespace ProxyStack.MSBuild;

/// <summary>Writes nginx.conf and the proxy's Dockerfile under the stack's intermediate folder, touching them only when they change.</summary>
public sealed class GenerateStackProxyConfig : Microsoft.Build.Utilities.Task
{
    /// <summary>Example: obj/Debug/net10.0/stack/model.json</summary>
    [Required] public string ModelFile { get; set; } = "";
    /// <summary>Example: obj/Debug/net10.0/stack/</summary>
    [Required] public string OutputDirectory { get; set; } = "";
    /// <summary>The nginx version of the proxy's base image (from InspectStackProxyBase; empty: unknown). Example: 1.30.6</summary>
    public string NginxVersion { get; set; } = "";

    /// <summary>The files written (or kept): nginx.conf and Dockerfile.</summary>
    [Output] public ITaskItem[] GeneratedFiles { get; set; } = [];

    public override bool Execute()
    {
        var model = Model.StackModelFile.Deserialize(File.ReadAllText(ModelFile)) with { NginxVersion = NginxVersion };
        var config = Path.Combine(OutputDirectory, "nginx.conf");
        var dockerfile = Path.Combine(OutputDirectory, "Dockerfile");
        StampFile.WriteIfChanged(config, NginxConfigWriter.Write(model));
        StampFile.WriteIfChanged(dockerfile, ProxyBuildContext.Dockerfile(model.NginxImage));
        // Incremental builds skip this task; refresh the timestamp so Outputs stays newer than the inputs.
        File.SetLastWriteTimeUtc(config, DateTime.UtcNow);
        GeneratedFiles = [new Microsoft.Build.Utilities.TaskItem(config), new Microsoft.Build.Utilities.TaskItem(dockerfile)];
        return true;
    }
}
