using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>This repository as a new contributor gets it: no build output anywhere, then one StackUp of the sample.</summary>
[Collection(BuildsCollection.Name)]
public sealed class FreshCloneTests : StackTest
{
    private readonly string _root = Directory.CreateTempSubdirectory("proxystack-clone-").FullName;

    protected override void DisposeMore()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    /// <summary>
    /// `dotnet build samples/HelloStack -t:StackUp` runs no Build before its first task, so on a fresh clone the tasks it loads
    /// from source did not exist yet (MSB4062): the repository's wiring builds them first.
    /// </summary>
    [DockerFact]
    public async Task StackUp_of_the_sample_works_on_a_fresh_clone()
    {
        foreach (var part in new[] { "src", "samples", "build", "Directory.Build.props", "Directory.Build.targets", "global.json" })
            Copy(Repository.File(part), Path.Combine(_root, part));
        Assert.False(File.Exists(Path.Combine(_root, "src", "Tasks", "bin", Repository.Configuration, "net10.0", "ProxyStack.Tasks.dll")));

        var up = await Cli.RunAsync(Cli.Dotnet(_root, ["build", "samples/HelloStack", "-t:StackUp", "-nologo", "-tl:off", "-nr:false",
            $"-p:StackRegistryMirror={Repository.Mirror}", $"-p:StackName={Stack}", $"-p:StackHostPort={Port}", "-p:StackReplicas=1",
            $"-p:Configuration={Repository.Configuration}"]), TimeSpan.FromMinutes(5));
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.DoesNotContain("MSB4062", up.Output);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal("hello world\n", await http.GetStringAsync($"http://127.0.0.1:{Port}/"));
    }

    /// <summary>Copies a file or a folder, leaving out build output (bin, obj), as a clone has none.</summary>
    private static void Copy(string from, string to)
    {
        if (File.Exists(from))
        {
            File.Copy(from, to);
            return;
        }
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj")) continue;
            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
