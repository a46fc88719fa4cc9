namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>
/// A project made as a user makes one — `dotnet new &lt;template&gt;` — with ProxyStack added: the SDK from this repository
/// (its Sdk.props after the project's opening tag, its Sdk.targets before the end, as `&lt;Sdk Name="ProxyStack.Sdk" /&gt;`
/// places them), in a temp folder removed on Dispose.
/// </summary>
public sealed class TemplateProject : IDisposable
{
    private readonly string _root;
    private bool _built;

    private readonly string _extension;
    private string _directory;

    private TemplateProject(string root, string extension) => (_root, _extension, _directory) = (root, extension, Path.Combine(root, "StackApp"));

    /// <summary>The project's folder: StackApp, or StackApp/StackApp where the template makes a solution (blazor with WebAssembly).</summary>
    public string Directory => _directory;
    public string ProjectFile => Path.Combine(Directory, "StackApp" + _extension);

    /// <summary>`dotnet new <paramref name="template"/>` in <paramref name="language"/> (C# or F#) with the template's <paramref name="options"/>, the Sdk line added.</summary>
    public static async Task<TemplateProject> CreateAsync(string template, string language = "C#", params string[] options)
    {
        var project = new TemplateProject(System.IO.Directory.CreateTempSubdirectory("proxystack-template-").FullName, language == "F#" ? ".fsproj" : ".csproj");
        var created = await Cli.RunAsync(Cli.Dotnet(project._root, ["new", template, "-lang", language, "-o", "StackApp", "-n", "StackApp", .. options]), TimeSpan.FromMinutes(3));
        if (created.ExitCode != 0) throw new InvalidOperationException($"dotnet new {template} failed:\n{created}");
        // A template that makes a server and a client project puts each in a folder of its own; the Sdk line goes in the server's.
        if (!File.Exists(project.ProjectFile)) project._directory = Path.Combine(project._directory, "StackApp");
        SampleCopy.WireSdk(project._root);
        var text = (await File.ReadAllTextAsync(project.ProjectFile)).TrimStart('\uFEFF');
        var open = text.IndexOf('>', text.IndexOf("<Project", StringComparison.Ordinal)) + 1;
        text = text[..open] + "\n  <Import Project=\"$(ProxyStackSdkDir)Sdk.props\" />" + text[open..]
            .Replace("</Project>", "  <Import Project=\"$(ProxyStackSdkDir)Sdk.targets\" />\n</Project>");
        await File.WriteAllTextAsync(project.ProjectFile, text);
        return project;
    }

    /// <summary>
    /// Another project from a template beside this one (in the same temp folder), as it comes, without ProxyStack: a
    /// StackProject's. Returns its project file.
    /// </summary>
    public async Task<string> AddProjectAsync(string template, string name)
    {
        var created = await Cli.RunAsync(Cli.Dotnet(_root, ["new", template, "-o", name, "-n", name]), TimeSpan.FromMinutes(3));
        if (created.ExitCode != 0) throw new InvalidOperationException($"dotnet new {template} failed:\n{created}");
        return Path.Combine(_root, name, name + ".csproj");
    }

    /// <summary>Adds MSBuild XML (an ItemGroup) to the project file, before ProxyStack's targets are imported.</summary>
    public void AddToProject(string xml)
    {
        var text = File.ReadAllText(ProjectFile);
        var at = text.LastIndexOf("  <Import ", StringComparison.Ordinal);
        File.WriteAllText(ProjectFile, text[..at] + xml + "\n" + text[at..]);
    }

    /// <summary>`dotnet build -t:&lt;target&gt;` with the given properties, the mirror always set.</summary>
    public Task<ProcessResult> BuildAsync(string target, IDictionary<string, string> properties)
    {
        // Restored by its first build (with the Sdk line: `dotnet new`'s own restore knew nothing of it); later builds change no
        // package (see SampleCopy.BuildAsync).
        var args = SampleCopy.BuildCommand(ProjectFile, target, properties, restored: _built);
        _built = true;
        return Cli.RunAsync(Cli.Dotnet(Directory, args, buildServer: true), TimeSpan.FromMinutes(5));
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }
}
