using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>This repository as a new contributor gets it: no build output anywhere, then one StackUp of the sample.</summary>
[Collection(StacksCollection.Name)]
public sealed class FreshCloneTests : StackTest
{
    /// <summary>
    /// `dotnet build samples/HelloStack -t:StackUp` runs no Build before its first task, so on a fresh clone the tasks it loads
    /// from source did not exist yet (MSB4062): the repository's wiring builds them first.
    /// </summary>
    [DockerFact]
    public async Task StackUp_of_the_sample_works_on_a_fresh_clone()
    {
        var root = TempFolder("proxystack-clone-");
        foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "global.json" })
            File.Copy(Repository.File(file), Path.Combine(root, file));
        foreach (var folder in new[] { "src", "samples", "build" })
            SampleCopy.CopyTree(Repository.File(folder), Path.Combine(root, folder));
        Assert.False(File.Exists(Path.Combine(root, "src", "Tasks", "bin", Repository.Configuration, "net10.0", "ProxyStack.Tasks.dll")));

        var up = await Cli.RunAsync(Cli.Dotnet(root, ["build", "samples/HelloStack", "-t:StackUp", "-nologo", "-tl:off", "-nr:false",
            $"-p:StackRegistryMirror={Repository.Mirror}", $"-p:StackName={Stack}", $"-p:StackHostPort={Port}", "-p:StackReplicas=1",
            $"-p:Configuration={Repository.Configuration}"]), TimeSpan.FromMinutes(5));
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.DoesNotContain("MSB4062", up.Output);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal("hello world\n", await http.GetStringAsync($"http://127.0.0.1:{Port}/"));
    }
}
