using Microsoft.Build.Framework;
using ProxyStack.Model;
using ProxyStack.Planning;

namespace ProxyStack.MSBuild;

/// <summary>
/// Validates the Stack* properties and writes the model file (the stamp for non-file inputs). Pure apart from that file:
/// it never touches Docker, so an invalid model stops the build before any engine call.
/// </summary>
public sealed class ComputeStackModel : Microsoft.Build.Utilities.Task
{
    public ComputeStackModel() => TaskResources = Strings.ResourceManager;

    /// <summary>Project name, the default stack name. Example: Contoso.Orders_API</summary>
    [Required] public string ProjectName { get; set; } = "";
    /// <summary>Example: hellostack</summary>
    public string StackName { get; set; } = "";
    /// <summary>Example: 3</summary>
    public string StackReplicas { get; set; } = "";
    /// <summary>Example: 8080</summary>
    public string StackHostPort { get; set; } = "";
    /// <summary>Example: 127.0.0.1</summary>
    public string StackHostAddress { get; set; } = "";
    /// <summary>Example: 8080</summary>
    public string StackAppPort { get; set; } = "";
    /// <summary>Example: /healthz</summary>
    public string StackHealthPath { get; set; } = "";
    /// <summary>Seconds. Example: 60</summary>
    public string StackReadyTimeout { get; set; } = "";
    /// <summary>Example: nginx:stable</summary>
    public string StackNginxImage { get; set; } = "";
    /// <summary>Example: localhost:5000</summary>
    public string StackRegistryMirror { get; set; } = "";
    /// <summary>Example: bridge</summary>
    public string StackNetworkMode { get; set; } = "";
    /// <summary>Example: false</summary>
    public string StackKeepRunning { get; set; } = "";
    /// <summary>Environment for the replicas: Include is the name, metadata Value the value. Example: Greeting=hello</summary>
    public ITaskItem[] StackEnvironment { get; set; } = [];
    /// <summary>$(EnableSdkContainerSupport) and $(IsPublishable) both true. Example: true</summary>
    public bool ContainerSupport { get; set; } = true;
    /// <summary>Where to write the model. Example: obj/Debug/net10.0/stack/model.json</summary>
    [Required] public string ModelFile { get; set; } = "";

    /// <summary>The normalized stack name. Example: contoso.orders_api</summary>
    [Output] public string NormalizedStackName { get; set; } = "";
    /// <summary>Where the proxy listens. Example: http://127.0.0.1:8080</summary>
    [Output] public string StackUrl { get; set; } = "";
    /// <summary>The nginx base image with the mirror applied. Example: localhost:5000/library/nginx:stable</summary>
    [Output] public string ResolvedNginxImage { get; set; } = "";
    /// <summary>Tag of the proxy image to build. Example: proxystack/hellostack-proxy:latest</summary>
    [Output] public string ProxyImage { get; set; } = "";

    public override bool Execute()
    {
        var input = new StackInput
        {
            ProjectName = ProjectName,
            StackName = StackName,
            Replicas = StackReplicas,
            HostPort = StackHostPort,
            HostAddress = StackHostAddress,
            AppPort = StackAppPort,
            HealthPath = StackHealthPath,
            ReadyTimeout = StackReadyTimeout,
            NginxImage = StackNginxImage,
            RegistryMirror = StackRegistryMirror,
            NetworkMode = StackNetworkMode,
            KeepRunning = StackKeepRunning,
            ContainerSupport = ContainerSupport,
            Environment = StackEnvironment.Select(i => new KeyValuePair<string, string>(i.ItemSpec, i.GetMetadata("Value"))).ToList(),
        };
        var (model, diagnostics) = StackModelBuilder.Build(input);
        MSBuildDiagnosticSink.Log(Log, diagnostics);
        if (model is null || Log.HasLoggedErrors) return false;

        StampFile.WriteIfChanged(ModelFile, StackModelFile.Serialize(model));
        NormalizedStackName = model.Name;
        StackUrl = model.Url;
        ResolvedNginxImage = model.NginxImage;
        ProxyImage = StackNames.ProxyImage(model.Name) + ":latest";
        return true;
    }
}
