using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// The ASP.NET Core templates as a user meets them: `dotnet new`, the Sdk line, 2 replicas, StackUp, a request that proves
/// the template's own feature through nginx, StackDown with nothing left. The grpc template speaks HTTP/2 only: a real gRPC
/// client calls its Greeter through nginx. The webapiaot template is told what to set (STACK1036) and then runs natively.
/// (The Blazor counter clicked in a browser is not covered yet: issue 14.)
/// </summary>
[Collection(BuildsCollection.Name)]
public sealed class TemplateTests(ITestOutputHelper output) : StackTest
{
    [DockerTheory]
    [InlineData("web", "/", "Hello World!")]
    // No "/" at all: ready because, with StackHealthPath unset, any answer below 500 means the app serves.
    [InlineData("webapi", "/weatherforecast", "temperatureC")]
    [InlineData("mvc", "/Home/Privacy", "Privacy Policy")]
    [InlineData("webapp", "/Privacy", "Privacy Policy")]
    [InlineData("blazor", "/counter", "Counter")]
    public async Task A_template_comes_up_behind_nginx_with_the_Sdk_line_alone(string template, string path, string expected)
    {
        using var app = await TemplateProject.CreateAsync(template);
        await UpAsync(app, template);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var response = await http.GetAsync($"http://127.0.0.1:{Port}{path}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}\n{body}");
        Assert.Contains(expected, body);

        await DownAsync(app);
    }

    [DockerFact]
    public async Task The_grpc_template_answers_a_gRPC_client_through_nginx_at_2_replicas()
    {
        using var app = await TemplateProject.CreateAsync("grpc");
        await UpAsync(app, "grpc");

        // Cleartext HTTP/2 with prior knowledge, as Grpc.Net.Client speaks to an http:// address; nginx spreads the calls.
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{Port}");
        var client = new Greet.Greeter.GreeterClient(channel);
        for (var i = 0; i < 4; i++)
            Assert.Equal($"Hello n{i}", (await client.SayHelloAsync(new Greet.HelloRequest { Name = "n" + i })).Message);
        // And plain HTTP/1.1 on the same port still reaches the app (its "/" says to use a gRPC client).
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Contains("gRPC", await http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        await DownAsync(app);
    }

    [DockerFact]
    public async Task The_webapiaot_template_says_what_to_set_and_with_it_comes_up_as_a_native_app()
    {
        using var app = await TemplateProject.CreateAsync("webapiaot");
        var refused = await app.BuildAsync("StackUp", Props);
        Assert.NotEqual(0, refused.ExitCode);
        var arch = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();
        Assert.Contains($"error STACK1036: Project 'StackApp' sets PublishAot, which publishes for one runtime only, and sets no RuntimeIdentifier. Add <RuntimeIdentifier>linux-{arch}</RuntimeIdentifier>", refused.Output);
        Assert.DoesNotContain("NETSDK", refused.Output);

        // What the message says, done as a user would: the two properties in the project.
        var project = await File.ReadAllTextAsync(app.ProjectFile);
        await File.WriteAllTextAsync(app.ProjectFile, project.Replace("<PublishAot>true</PublishAot>",
            $"<PublishAot>true</PublishAot>\n    <RuntimeIdentifier>linux-{arch}</RuntimeIdentifier>\n    <SelfContained>true</SelfContained>"));
        await UpAsync(app, "webapiaot (after the fix)");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Contains("Walk the dog", await http.GetStringAsync($"http://127.0.0.1:{Port}/todos"));
        // A native app: the image has no .NET runtime in it.
        var image = (await Probe.InspectAsync($"{Stack}-app-1")).Config.Image;
        var labels = (await Probe.Client.Images.InspectImageAsync(image)).Config.Labels;
        Assert.Contains("runtime-deps", labels["org.opencontainers.image.base.name"]);
        await DownAsync(app);
    }

    private Dictionary<string, string> Props => new() { ["StackName"] = Stack, ["StackHostPort"] = Port.ToString(), ["StackReplicas"] = "2" };

    /// <summary>StackUp at 2 replicas; its time is what docs/benchmarks.md records per template (restore to ready).</summary>
    private async Task UpAsync(TemplateProject app, string label)
    {
        var up = await app.BuildAsync("StackUp", Props);
        output.WriteLine($"{label}: StackUp took {up.Elapsed.TotalSeconds:0.0} s");
        Assert.True(up.ExitCode == 0, up.ToString());
    }

    private async Task DownAsync(TemplateProject app)
    {
        var down = await app.BuildAsync("StackDown", Props);
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }
}
