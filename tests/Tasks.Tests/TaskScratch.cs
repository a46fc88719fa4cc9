using ProxyStack.Engine;
using ProxyStack.Model;
using ProxyStack.MSBuild;
using ProxyStack.Proxy;

namespace ProxyStack.Tests;

/// <summary>
/// What a task test needs around a task: a temporary directory for the files the targets would have written (the model and
/// its nginx config), and a build engine that captures what the task logs. Dispose removes the directory.
/// </summary>
internal sealed class TaskScratch : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("proxystack-tasks-").FullName;
    public CapturingBuildEngine Build { get; } = new();
    public string ConfigFile => Path.Combine(Dir, "nginx.conf");

    /// <summary>Writes the model file and the nginx config generated from it, as ComputeStackModel and GenerateStackProxyConfig do; returns the model's path.</summary>
    public string WriteModel(StackModel model)
    {
        var path = Path.Combine(Dir, "model.json");
        File.WriteAllText(path, StackModelFile.Serialize(model));
        File.WriteAllText(ConfigFile, NginxConfigWriter.Write(model));
        return path;
    }

    /// <summary>An ApplyStack over the given engine, for the model written here.</summary>
    public ApplyStack Apply(StackModel model, IContainerEngine engine) => new()
    {
        BuildEngine = Build, ModelFile = WriteModel(model), AppImage = Builders.AppImage, ProxyImage = Builders.ProxyImage,
        ProxyConfigFile = ConfigFile, Engine = engine,
    };

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
