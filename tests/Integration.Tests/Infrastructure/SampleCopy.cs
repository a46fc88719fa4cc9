namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>
/// A copy of samples/HelloStack (or another app, such as tests/Apps/FormsApp) in a temp folder (the original is never
/// edited), wired to the SDK and the tasks built from this repository, as the repository's own Directory.Build.props wires
/// the sample.
/// </summary>
public sealed class SampleCopy : IDisposable
{
    private readonly string _name;
    public string Directory { get; }
    public string ProjectFile => Path.Combine(Directory, _name + ".csproj");

    /// <param name="source">The app's folder, relative to the repository; its name is the project's.</param>
    public SampleCopy(params string[] source)
    {
        if (source.Length == 0) source = ["samples", "HelloStack"];
        _name = source[^1];
        var root = System.IO.Directory.CreateTempSubdirectory("proxystack-it-").FullName;
        Directory = Path.Combine(root, _name);
        CopyTree(Repository.File(source), Directory);
        WireSdk(root);
    }

    /// <summary>Copies a folder without build output (no bin or obj folder at any depth), as a clone has none.</summary>
    public static void CopyTree(string from, string to)
    {
        foreach (var file in System.IO.Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj")) continue;
            var target = Path.Combine(to, relative);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>
    /// Makes projects under <paramref name="root"/> use the SDK and the tasks built from this repository, as the repository's
    /// own Directory.Build.props does for the sample (a package consumer writes the Sdk line instead).
    /// </summary>
    public static void WireSdk(string root) => File.WriteAllText(Path.Combine(root, "Directory.Build.props"), $"""
        <Project>
          <PropertyGroup>
            <ProxyStackSdkDir>{Repository.File("src", "Sdk", "Sdk")}/</ProxyStackSdkDir>
            <StackTasksAssembly>{Repository.TasksAssembly}</StackTasksAssembly>
            <!-- The sample's Redis (its StackContainer) only for the tests about backing containers: -p:HelloStackCache=true. -->
            <HelloStackCache Condition="'$(HelloStackCache)' == ''">false</HelloStackCache>
            <!-- Its API project (a StackProject) only for the tests about several projects: -p:HelloStackApi=true. -->
            <HelloStackApi Condition="'$(HelloStackApi)' == ''">false</HelloStackApi>
          </PropertyGroup>
        </Project>
        """);

    /// <summary>Replaces text in Program.cs (a code change, as a developer makes it).</summary>
    public void EditProgram(string from, string to)
    {
        var path = Path.Combine(Directory, "Program.cs");
        var text = File.ReadAllText(path);
        if (!text.Contains(from)) throw new InvalidOperationException($"Program.cs has no '{from}'.");
        File.WriteAllText(path, text.Replace(from, to));
    }

    /// <summary>Adds MSBuild XML (an ItemGroup, a PropertyGroup) to the copy's project file, before its last import.</summary>
    public void AddToProject(string xml)
    {
        var path = ProjectFile;
        var text = File.ReadAllText(path);
        var at = text.LastIndexOf("  <Import ", StringComparison.Ordinal);
        File.WriteAllText(path, text[..at] + xml + "\n\n" + text[at..]);
    }

    /// <summary>
    /// `dotnet build -t:&lt;target&gt;` with the given properties, the mirror always set. Once the copy has been restored, with
    /// --no-restore: tests change items and code, never packages, and the implicit restore costs ~0.8 s of CPU per build,
    /// which on 2 busy cores is suite time (measured: StackStatus 2.3–2.9 s with it, 1.6 s without).
    /// </summary>
    public Task<ProcessResult> BuildAsync(string target, IDictionary<string, string>? properties = null, IDictionary<string, string>? env = null, TimeSpan? timeout = null, string verbosity = "n") =>
        Cli.RunAsync(Cli.Dotnet(Directory, BuildArguments(target, properties, verbosity), env, buildServer: true), timeout);

    /// <summary>The command line of <see cref="BuildAsync"/>, for a test that starts the build itself (to signal it, or to run two at once).</summary>
    public List<string> BuildArguments(string target, IDictionary<string, string>? properties = null, string verbosity = "n") =>
        BuildCommand(ProjectFile, target, properties, restored: File.Exists(Path.Combine(Directory, "obj", "project.assets.json")), verbosity);

    /// <summary>
    /// The tests' one `dotnet build -t:&lt;target&gt;` command line for a project: the mirror always set, --no-restore once the
    /// project was restored (see <see cref="BuildAsync"/>), the properties, and the verbosity when one is given.
    /// </summary>
    public static List<string> BuildCommand(string projectFile, string target, IDictionary<string, string>? properties, bool restored, string? verbosity = null)
    {
        var args = new List<string> { "build", projectFile, $"-t:{target}", "-nologo", "-tl:off", $"-p:StackRegistryMirror={Repository.Mirror}" };
        if (verbosity is not null) args.Add($"-v:{verbosity}");
        if (restored) args.Add("--no-restore");
        foreach (var (k, v) in properties ?? new Dictionary<string, string>()) args.Add($"-p:{k}={v}");
        return args;
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Path.GetDirectoryName(Directory)!, recursive: true); }
        catch (IOException) { }
    }
}
