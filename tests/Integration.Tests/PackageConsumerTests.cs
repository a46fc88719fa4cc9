using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// The SDK as a user gets it: packed, put on a feed, and consumed by a brand-new ASP.NET project with one Sdk line.
/// Each run packs a fresh version into its own NuGet cache, so NuGet can never serve bits from an earlier run.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class PackageConsumerTests : StackTest
{
    [DockerFact]
    public async Task A_new_web_project_consuming_the_packed_package_brings_its_stack_up()
    {
        var root = TempFolder("proxystack-consumer-");
        var version = $"0.1.0-test.{Guid.NewGuid():N}"[..24];
        var feed = Path.Combine(root, "feed");
        var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(root, "packages") };

        var pack = await Cli.RunAsync(Cli.Dotnet(Repository.Root,
            ["pack", Repository.File("src", "Sdk", "ProxyStack.Sdk.csproj"), "-nologo", "-c", Repository.Configuration, $"-p:ProxyStackVersion={version}", "-o", feed]));
        Assert.True(pack.ExitCode == 0, pack.ToString());

        var app = Path.Combine(root, "Consumer.Api");
        var create = await Cli.RunAsync(Cli.Dotnet(root, ["new", "web", "-o", app, "-n", "Consumer.Api", "--no-restore"], env));
        Assert.True(create.ExitCode == 0, create.ToString());
        var csproj = Path.Combine(app, "Consumer.Api.csproj");
        var text = await File.ReadAllTextAsync(csproj);
        await File.WriteAllTextAsync(csproj, text.Replace("<Project Sdk=\"Microsoft.NET.Sdk.Web\">",
            $"<Project Sdk=\"Microsoft.NET.Sdk.Web\">\n  <Sdk Name=\"ProxyStack.Sdk\" Version=\"{version}\" />"));
        await File.WriteAllTextAsync(Path.Combine(root, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);

        var port = Ports.Free();
        var up = await Cli.RunAsync(Cli.Dotnet(app,
            ["build", "-t:StackUp", "-nologo", "-nr:false", "-tl:off", "-v:n", $"-p:StackName={Stack}", $"-p:StackHostPort={port}", "-p:StackReplicas=2",
             $"-p:StackRegistryMirror={Repository.Mirror}"], env));
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains(Path.Combine(root, "packages", "proxystack.sdk", version), up.Output);

        using var http = new HttpClient();
        Assert.Equal("Hello World!", await http.GetStringAsync($"http://127.0.0.1:{port}/"));

        var down = await Cli.RunAsync(Cli.Dotnet(app, ["build", "-t:StackDown", "-nologo", "-nr:false", "-tl:off", $"-p:StackName={Stack}"], env));
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }
}
