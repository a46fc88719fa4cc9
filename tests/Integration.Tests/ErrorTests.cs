using Docker.DotNet.Models;
using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>Each failure a user can meet: a coded error naming what is wrong, and nothing left running.</summary>
[Collection(StacksCollection.Name)]
public sealed class ErrorTests(SharedSample shared) : StackTest
{


    private Dictionary<string, string> Props(params (string Key, string Value)[] extra) => StackProps(2, extra);

    private async Task AssertNothingLeftAsync()
    {
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }

    [DockerTheory]
    [InlineData("worker", "STACK5002: Project 'StackApp' is not an ASP.NET Core app")]
    [InlineData("console", "STACK5002: Project 'StackApp' is not an ASP.NET Core app")]
    [InlineData("classlib", "STACK5002: Project 'StackApp' is not an ASP.NET Core app")]
    // Files for the browser, no server: the error says where the Sdk line goes instead.
    [InlineData("blazorwasm", "STACK5003: Project 'StackApp' is a standalone Blazor WebAssembly app")]
    public async Task A_project_that_is_not_a_web_app_is_refused_with_a_coded_error_before_any_image_work(string template, string error)
    {
        // As a user would: `dotnet new`, the Sdk line (here: the SDK from source, as in the sample), StackUp.
        using var app = await TemplateProject.CreateAsync(template);
        var up = await app.BuildAsync("StackUp", new Dictionary<string, string> { ["StackName"] = Stack, ["StackHostPort"] = Port.ToString() });
        Assert.NotEqual(0, up.ExitCode);
        Assert.Contains("error " + error, up.Output);
        // Nothing else: no base image, no container publishing, no engine work.
        Assert.DoesNotContain("STACK2001", up.Output);
        Assert.DoesNotContain("STACK5001", up.Output);
        Assert.DoesNotContain("PublishContainer", up.Output);
        Assert.Empty(await Probe.ImagesAsync(Stack));
        await AssertNothingLeftAsync();
    }

    [DockerFact]
    public async Task A_StackProject_that_is_not_a_web_app_is_STACK1045_naming_it_before_any_container()
    {
        // A library of the solution named as a StackProject by mistake (a ProjectReference was meant).
        using var sample = new SampleCopy();
        var lib = Path.Combine(Path.GetDirectoryName(sample.Directory)!, "Lib");
        Directory.CreateDirectory(lib);
        File.WriteAllText(Path.Combine(lib, "Lib.csproj"), """<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>""");
        sample.AddToProject("""  <ItemGroup><StackProject Include="../Lib/Lib.csproj" Route="/lib" Condition="'$(LibRoute)' != 'none'" /><StackProject Include="../Lib/Lib.csproj" Condition="'$(LibRoute)' == 'none'" /></ItemGroup>""");
        var up = await sample.BuildAsync("StackUp", Props());
        Assert.NotEqual(0, up.ExitCode);
        Assert.Contains("error STACK1045: StackProject 'lib' has Include=\"Lib.csproj\" and a Route: name an ASP.NET Core app (Sdk=\"Microsoft.NET.Sdk.Web\", or a FrameworkReference to Microsoft.AspNetCore.App), which nginx can serve; leave Route out to run a worker or another app in the background, and reference a library with a ProjectReference.", up.Output);
        Assert.DoesNotContain("   at ", up.Output);
        await AssertNothingLeftAsync();
        // Without Route it would run in the background: a library cannot.
        var background = await sample.BuildAsync("StackUp", Props(("LibRoute", "none")));
        Assert.NotEqual(0, background.ExitCode);
        Assert.Contains("error STACK1045: StackProject 'lib' has Include=\"Lib.csproj\", a Library project: name an app to run in the background (a Worker Service, or any app on the .NET Generic Host); reference a library with a ProjectReference instead.", background.Output);
        Assert.DoesNotContain("   at ", background.Output);
        await AssertNothingLeftAsync();
    }

    /// <summary>
    /// An ASP.NET Core app named as a StackProject without a Route runs in the background (a Route forgotten, most likely):
    /// STACK1061 says so, in the project's own build where the image is made, and its NoWarn says it is meant. Run here as
    /// the front project's image build runs it (its properties, the project's own check target), without building images.
    /// </summary>
    [DockerFact]
    public async Task A_web_StackProject_without_Route_is_warned_about_with_STACK1061_unless_its_NoWarn_says_so()
    {
        var api = Path.Combine(shared.Sample.Directory, "Api", "HelloStack.Api.csproj");
        Task<ProcessResult> CheckAsync(params (string Key, string Value)[] extra)
        {
            var props = new Dictionary<string, string>
            {
                ["CustomAfterMicrosoftCommonTargets"] = Repository.File("src", "Sdk", "Sdk", "Project.targets"),
                ["StackTasksAssembly"] = Repository.TasksAssembly, ["_StackImageOf"] = Stack, ["_StackProjectName"] = "api",
                ["_StackProjectServed"] = "false",
            };
            foreach (var (k, v) in extra) props[k] = v;
            return Cli.RunAsync(Cli.Dotnet(shared.Sample.Directory, SampleCopy.BuildCommand(api, "_StackProjectSetup", props, restored: true)));
        }
        var background = await CheckAsync();
        Assert.True(background.ExitCode == 0, background.Output);
        Assert.Contains("warning STACK1061: StackProject 'api' has Include=\"HelloStack.Api.csproj\", an ASP.NET Core app, and no Route: it runs in the background, nginx does not serve it and no project is given its address. Give it Route=\"/api\" (a path prefix of its own) to serve it; if it is meant to run in the background, add STACK1061 to its NoWarn.", background.Output);
        var meant = await CheckAsync(("NoWarn", "STACK1061"));
        Assert.True(meant.ExitCode == 0, meant.Output);
        Assert.DoesNotContain("STACK1061", meant.Output);
        // Served, it is what a Route asks for: no word.
        var served = await CheckAsync(("_StackProjectServed", "true"));
        Assert.True(served.ExitCode == 0, served.Output);
        Assert.DoesNotContain("STACK1061", served.Output);
    }

    /// <summary>
    /// A project with TargetFrameworks, the front project or a StackProject: with one framework the stack's targets run in
    /// its build (the outer build has none to publish: NETSDK1129 and MSB4057 before); with several, STACK1060 names them and
    /// -f before anything is built or changed.
    /// </summary>
    [DockerFact]
    public async Task TargetFrameworks_with_one_framework_brings_the_stack_up_and_with_several_is_STACK1060_naming_them()
    {
        using var sample = new SampleCopy();
        const string single = "<TargetFramework>net10.0</TargetFramework>";
        var project = File.ReadAllText(sample.ProjectFile);
        var api = Path.Combine(sample.Directory, "Api", "HelloStack.Api.csproj");
        Assert.Contains(single, project);
        Assert.Contains(single, File.ReadAllText(api));
        // The StackProject first, beside a front project with one TargetFramework (a front project's TargetFrameworks would
        // hand its framework down as a global property, and the StackProject's outer build would never run).
        File.WriteAllText(api, File.ReadAllText(api).Replace(single, "<TargetFrameworks>net10.0</TargetFrameworks>"));
        var props = Props(("HelloStackApi", "true"));
        var up = await sample.BuildAsync("StackUp", props);
        Assert.True(up.ExitCode == 0, up.Output);
        using (var http = new HttpClient())
        {
            Assert.Equal("hello world\n", await http.GetStringAsync($"http://127.0.0.1:{Port}/"));
            Assert.Equal("hello from the api\n", await http.GetStringAsync($"http://127.0.0.1:{Port}/api/"));
        }
        File.WriteAllText(sample.ProjectFile, project.Replace(single, "<TargetFrameworks>net10.0</TargetFrameworks>"));
        var again = await sample.BuildAsync("StackUp", props);
        Assert.True(again.ExitCode == 0, again.Output);
        var status = await sample.BuildAsync("StackStatus", props);
        Assert.True(status.ExitCode == 0 && status.Output.Contains($"{Stack}-proxy"), status.Output);
        var down = await sample.BuildAsync("StackDown", props);
        Assert.True(down.ExitCode == 0, down.Output);
        Assert.Contains($"Stack '{Stack}': removed 6 resource(s).", down.Output);
        await AssertNothingLeftAsync();

        // (Built --no-restore, as the copy was restored: the outer build's refusal needs no assets of either framework.)
        File.WriteAllText(sample.ProjectFile, project.Replace("<TargetFramework>net10.0</TargetFramework>", "<TargetFrameworks>net10.0;net9.0</TargetFrameworks>"));
        var several = await sample.BuildAsync("StackUp", Props());
        Assert.NotEqual(0, several.ExitCode);
        Assert.Contains("error STACK1060: The project targets several frameworks (TargetFrameworks is 'net10.0;net9.0'), and a stack runs one build of the app. Name the one to run with -f, as dotnet run asks too: dotnet build -t:StackUp -f net10.0 or -f net9.0", several.Output);
        Assert.DoesNotContain("NETSDK1129", several.Output);
        await AssertNothingLeftAsync();
    }

    [DockerFact]
    public async Task No_reachable_engine_fails_fast_with_STACK3001_naming_the_endpoint_and_DOCKER_HOST()
    {
        // Warm restore and evaluation first, so the measurement is of ProxyStack's probe, not of NuGet.
        await shared.Sample.BuildAsync("ComputeStackModel", Props());
        var result = await shared.Sample.BuildAsync("StackUp", Props(), new Dictionary<string, string> { ["DOCKER_HOST"] = "unix:///tmp/proxystack-nothing-here.sock" });
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error STACK3001", result.Output);
        Assert.Contains("unix:///tmp/proxystack-nothing-here.sock", result.Output);
        Assert.Contains("DOCKER_HOST", result.Output);
        Assert.DoesNotContain("   at ", result.Output);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(15), $"took {result.Elapsed}");

        var tcp = await shared.Sample.BuildAsync("StackUp", Props(), new Dictionary<string, string> { ["DOCKER_HOST"] = $"tcp://127.0.0.1:{Ports.Free()}" });
        Assert.Contains("error STACK3001", tcp.Output);
        Assert.True(tcp.Elapsed < TimeSpan.FromSeconds(15), $"took {tcp.Elapsed}");
    }

    /// <summary>
    /// A Linux user outside the docker group: the engine runs, but its socket refuses them. STACK3008 says how to be let in
    /// (not STACK3001's "start Docker"). The socket is the test's own, mode 000; as root, the build runs without the
    /// capabilities that let root past file modes, as an ordinary user would.
    /// </summary>
    [DockerFact]
    public async Task An_engine_socket_that_refuses_this_user_is_STACK3008_saying_how_to_be_let_in()
    {
        Assert.True(OperatingSystem.IsLinux(), "a socket refused by its file mode is a Linux case");
        await shared.Sample.BuildAsync("ComputeStackModel", Props());
        var path = Path.Combine(TempFolder("proxystack-denied-"), "engine.sock");
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        socket.Listen();
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(path, UnixFileMode.None);
        var psi = Cli.Dotnet(shared.Sample.Directory, shared.Sample.BuildArguments("StackUp", Props()), new Dictionary<string, string> { ["DOCKER_HOST"] = "unix://" + path });
        if (Environment.UserName == "root")
        {
            psi.ArgumentList.Insert(0, psi.FileName);
            psi.ArgumentList.Insert(0, "--bounding-set=-dac_override,-dac_read_search");
            psi.FileName = "setpriv";
        }
        var result = await Cli.RunAsync(psi);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"error STACK3008: The Docker engine at 'unix://{path}' refused this user (permission denied on its socket)", result.Output);
        Assert.Contains("sudo usermod -aG docker $USER", result.Output);
        Assert.DoesNotContain("STACK3001", result.Output);
        Assert.DoesNotContain("   at ", result.Output);
    }

    [DockerFact]
    public async Task A_taken_host_port_fails_with_STACK4003_and_starts_nothing()
    {
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, Port);
        squatter.Start();
        var result = await shared.Sample.BuildAsync("StackUp", Props());
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error STACK4003", result.Output);
        Assert.Contains($"StackHostPort {Port}", result.Output);
        await AssertNothingLeftAsync();
    }

    [DockerFact]
    public async Task A_taken_app_on_host_port_fails_with_STACK4003_and_starts_nothing()
    {
        // The app on the host would start only after the bring-up and crash on the port: refused before anything starts.
        var appPort = Ports.Free();
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, appPort);
        squatter.Start();
        var result = await shared.Sample.BuildAsync("StackUp", Props(("StackAppOnHost", "true"), ("StackAppOnHostPort", appPort.ToString())));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error STACK4003", result.Output);
        Assert.Contains($"StackAppOnHostPort {appPort} on 127.0.0.1", result.Output);
        await AssertNothingLeftAsync();
    }

    [DockerFact]
    public async Task Invalid_property_values_fail_with_their_codes_before_any_engine_call()
    {
        var cases = new (string Property, string Value, string Code)[]
        {
            ("StackReplicas", "0", "STACK1003"),
            ("StackReplicas", "many", "STACK1003"),
            ("StackHostPort", "70000", "STACK1004"),
            ("StackName", "___", "STACK1001"),
            ("StackHealthPath", "/x{return}", "STACK1006"),
            ("StackHealthPath", "/x$(Foo)", "STACK1006"),
        };
        foreach (var (property, value, code) in cases)
        {
            var result = await shared.Sample.BuildAsync("StackUp", Props((property, value)),
                new Dictionary<string, string> { ["DOCKER_HOST"] = "unix:///tmp/proxystack-never-asked.sock" });
            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains($"error {code}", result.Output);
            Assert.Contains(property, result.Output);
            // The engine was never asked: no STACK3001 although DOCKER_HOST points nowhere.
            Assert.DoesNotContain("STACK3001", result.Output);
        }
        await AssertNothingLeftAsync();
    }

    [DockerFact]
    public async Task An_unavailable_base_image_fails_with_STACK2001_suggesting_StackRegistryMirror()
    {
        var result = await shared.Sample.BuildAsync("StackUp", Props(("StackRegistryMirror", Repository.Mirror + "/nothing-mirrored-here")));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error STACK2001", result.Output);
        Assert.Contains("StackRegistryMirror", result.Output);
        await AssertNothingLeftAsync();
    }

    [DockerFact]
    public async Task A_replica_that_never_becomes_ready_fails_with_its_logs_and_nothing_is_left_running()
    {
        var result = await shared.Sample.BuildAsync("StackUp", Props(("StackHealthPath", "/never-there"), ("StackReadyTimeout", "5")));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error STACK4004", result.Output);
        Assert.Contains("HTTP 404", result.Output);
        // The replica's own last log lines are part of the error (the sample, like the web template, logs requests at
        // Warning and up only: its start-up lines, then).
        Assert.Contains("Application started. Press Ctrl+C to shut down.", result.Output);
        await AssertNothingLeftAsync();
    }

    /// <summary>
    /// An app whose code names its own address (here <c>app.Run("http://localhost:5000")</c>, as many tutorials write it) starts,
    /// and listens where nginx cannot reach it. It is named for what it is as soon as it says where it listens — STACK4023 with
    /// the address, not STACK4004 after StackReadyTimeout — and nothing is left.
    /// </summary>
    [DockerFact]
    public async Task An_app_that_listens_only_on_its_own_loopback_address_is_STACK4023_naming_it_instead_of_a_timeout()
    {
        using var sample = new SampleCopy();
        sample.EditProgram("app.Run();", "app.Run(\"http://localhost:5000\");");
        var result = await sample.BuildAsync("StackUp", Props(("StackReadyTimeout", "120")));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"error STACK4023: Replica '{Stack}-app-", result.Output);
        Assert.Contains("started but listens only on http://localhost:5000, where nginx cannot reach it: ProxyStack sends requests to port 8080", result.Output);
        Assert.DoesNotContain("STACK4004", result.Output);
        await AssertNothingLeftAsync();
    }

    [DockerFact]
    public async Task A_container_with_a_stack_name_but_not_our_labels_is_refused_and_left_alone()
    {
        var foreign = $"{Stack}-app-2";
        await Probe.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = foreign,
            Image = $"{Repository.Mirror}/library/nginx:stable",
            Labels = new Dictionary<string, string> { ["test.owner"] = Stack },
        });
        try
        {
            var result = await shared.Sample.BuildAsync("StackUp", Props());
            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains("error STACK4001", result.Output);
            Assert.Contains(foreign, result.Output);
            Assert.NotNull(await Probe.InspectAsync(foreign));
            await AssertNothingLeftAsync();

            var down = await shared.Sample.BuildAsync("StackDown", Props());
            Assert.Equal(0, down.ExitCode);
            Assert.NotNull(await Probe.InspectAsync(foreign));
        }
        finally
        {
            await Probe.Client.Containers.RemoveContainerAsync(foreign, new ContainerRemoveParameters { Force = true });
        }
    }
}
