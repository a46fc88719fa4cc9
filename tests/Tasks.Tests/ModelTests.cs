using ProxyStack.Diagnostics;
using ProxyStack.Model;
using Xunit;

namespace ProxyStack.Tests;

public class ModelTests
{
    [Theory]
    [InlineData("HelloStack", "hellostack")]
    [InlineData("Contoso.Orders_API", "contoso.orders_api")]
    [InlineData("My App!", "my-app")]
    [InlineData("--Weird__..Name--", "weird_name")]
    [InlineData("a", "a")]
    public void Stack_names_are_normalized_for_docker(string raw, string expected) =>
        Assert.Equal(expected, StackNames.Normalize(raw));

    [Theory]
    [InlineData("")]
    [InlineData("___")]
    [InlineData("!!!")]
    [InlineData("...")]
    public void A_name_with_nothing_valid_left_is_refused(string raw) => Assert.Null(StackNames.Normalize(raw));

    [Fact]
    public void Long_names_are_cut_to_the_limit_and_stay_valid()
    {
        var name = StackNames.Normalize(new string('x', 100))!;
        Assert.Equal(StackNames.MaxLength, name.Length);
        Assert.True(StackNames.IsValid(name));
    }

    [Fact]
    public void Default_stack_name_is_the_normalized_project_name()
    {
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { ProjectName = "Contoso.Orders_API" });
        Assert.Equal("contoso.orders_api", model!.Name);
        Assert.Empty(diagnostics);
    }

    [Fact]
    public void An_explicit_name_that_needs_normalizing_warns_with_STACK1002()
    {
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { StackName = "My Stack" });
        Assert.Equal("my-stack", model!.Name);
        var d = Assert.Single(diagnostics);
        Assert.Equal("STACK1002", d.Code);
        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
    }

    public static TheoryData<string, string, string> BadInputs => new()
    {
        { nameof(StackInput.StackName), "___", "STACK1001" },
        { nameof(StackInput.Replicas), "0", "STACK1003" },
        { nameof(StackInput.Replicas), "-1", "STACK1003" },
        { nameof(StackInput.Replicas), "three", "STACK1003" },
        { nameof(StackInput.Replicas), "17", "STACK1003" },
        { nameof(StackInput.Replicas), "", "STACK1003" },
        { nameof(StackInput.Replicas), "2.5", "STACK1003" },
        { nameof(StackInput.HostPort), "0", "STACK1004" },
        { nameof(StackInput.HostPort), "65536", "STACK1004" },
        { nameof(StackInput.HostPort), "http", "STACK1004" },
        { nameof(StackInput.HostPort), "", "STACK1004" },
        { nameof(StackInput.AppPort), "-80", "STACK1004" },
        { nameof(StackInput.HostAddress), "localhost", "STACK1005" },
        { nameof(StackInput.HostAddress), "", "STACK1005" },
        { nameof(StackInput.HostAddress), "300.1.1.1", "STACK1005" },
        { nameof(StackInput.HealthPath), "health", "STACK1006" },
        { nameof(StackInput.HealthPath), "/a;b", "STACK1006" },
        { nameof(StackInput.HealthPath), "/a{b", "STACK1006" },
        { nameof(StackInput.HealthPath), "/a}b", "STACK1006" },
        { nameof(StackInput.HealthPath), "/a\"b", "STACK1006" },
        { nameof(StackInput.HealthPath), "/a'b", "STACK1006" },
        { nameof(StackInput.HealthPath), "/a\nb", "STACK1006" },
        { nameof(StackInput.HealthPath), "/$host", "STACK1006" },
        { nameof(StackInput.HealthPath), "/a b", "STACK1006" },
        { nameof(StackInput.ReadyTimeout), "0", "STACK1007" },
        { nameof(StackInput.ReadyTimeout), "soon", "STACK1007" },
        { nameof(StackInput.ReadyTimeout), "3601", "STACK1007" },
        { nameof(StackInput.NginxImage), "", "STACK1008" },
        { nameof(StackInput.NginxImage), "NGINX", "STACK1008" },
        { nameof(StackInput.NginxImage), "nginx:sta ble", "STACK1008" },
        { nameof(StackInput.NginxImage), "nginx;rm", "STACK1008" },
        { nameof(StackInput.RegistryMirror), "http://mirror", "STACK1009" },
        { nameof(StackInput.RegistryMirror), "mirror:port", "STACK1009" },
        { nameof(StackInput.NetworkMode), "overlay", "STACK1010" },
        { nameof(StackInput.NetworkMode), "", "STACK1010" },
        { nameof(StackInput.KeepRunning), "yes", "STACK1012" },
        { nameof(StackInput.KeepRunning), "1", "STACK1012" },
        { nameof(StackInput.RunHook), "no", "STACK1012" },
        { nameof(StackInput.HealthPath), "/" + new string('a', 300), "STACK1006" },
        { nameof(StackInput.NginxImage), "nginx" + new string('x', 300), "STACK1008" },
        { nameof(StackInput.HostAddress), "1.2.3.4.5", "STACK1005" },
        { nameof(StackInput.HostAddress), "127.0.0.1;", "STACK1005" },
        { nameof(StackInput.ReadyTimeout), "-5", "STACK1007" },
        { nameof(StackInput.ReadyTimeout), "", "STACK1007" },
        { nameof(StackInput.AppPort), "0", "STACK1004" },
        { nameof(StackInput.AppPort), "", "STACK1004" },
        { nameof(StackInput.RegistryMirror), "local host:5000", "STACK1009" },
        { nameof(StackInput.RegistryMirror), "mirror/UPPER", "STACK1009" },
        // Patterns anchor at the true end of input; a mirror must be what Docker reads as a registry.
        { nameof(StackInput.HealthPath), "/health\n", "STACK1006" },
        { nameof(StackInput.RegistryMirror), "localhost:5000\n", "STACK1009" },
        { nameof(StackInput.RegistryMirror), "localhost:70000", "STACK1009" },
        { nameof(StackInput.RegistryMirror), "localhost:0", "STACK1009" },
        { nameof(StackInput.RegistryMirror), "mirror", "STACK1009" },
        { nameof(StackInput.RegistryMirror), "mirror/hub", "STACK1009" },
        { nameof(StackInput.NginxImage), "nginx:stable\n", "STACK1008" },
        { nameof(StackInput.LockTimeout), "0", "STACK1024" },
        { nameof(StackInput.Adopt), "maybe", "STACK1012" },
        { nameof(StackInput.MaxRequestBodySize), "-1", "STACK1025" },
        { nameof(StackInput.MaxRequestBodySize), "1MB", "STACK1025" },
        { nameof(StackInput.MaxRequestBodySize), "99999999999999", "STACK1025" },
        { nameof(StackInput.ProxyReadTimeout), "0", "STACK1026" },
        { nameof(StackInput.SessionAffinity), "sticky", "STACK1028" },
        { nameof(StackInput.ProxyReadTimeout), "86401", "STACK1026" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_input_is_an_error_with_its_code_and_no_model(string property, string value, string code)
    {
        var input = Builders.ValidInput();
        var prop = typeof(StackInput).GetProperty(property)!;
        var copy = input with { };
        prop.SetValue(copy, value);
        if (property == nameof(StackInput.StackName)) copy = copy with { ProjectName = "___" };
        var (model, diagnostics) = StackModelBuilder.Build(copy);
        Assert.Null(model);
        Assert.Contains(diagnostics, d => d.Code == code && d.IsError);
        Assert.Contains(value.Length == 0 ? "''" : value, diagnostics.First(d => d.Code == code).Format());
    }

    [Fact]
    public void Environment_names_docker_cannot_take_are_refused()
    {
        // A .NET logging category's dots are taken (the configuration key Logging:LogLevel:Microsoft.EntityFrameworkCore).
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with
        {
            Environment = [new("1BAD", "x"), new("GOOD_1", "y"), new("Logging__LogLevel__Microsoft.EntityFrameworkCore", "Warning"), new("BAD-2", "z")],
        });
        Assert.Null(model);
        Assert.Equal(["STACK1013: StackEnvironment item '1BAD' is not a valid environment variable name. Use letters, digits, '_' and '.' (as in Logging__LogLevel__Microsoft.EntityFrameworkCore), not starting with a digit.", "STACK1013: StackEnvironment item 'BAD-2' is not a valid environment variable name. Use letters, digits, '_' and '.' (as in Logging__LogLevel__Microsoft.EntityFrameworkCore), not starting with a digit."],
            diagnostics.Select(d => d.Format()));
        var dotted = StackModelBuilder.Build(Builders.ValidInput() with { Environment = [new("Logging__LogLevel__Microsoft.EntityFrameworkCore", "Warning")] }).Model!;
        Assert.Contains(new KeyValuePair<string, string>("Logging__LogLevel__Microsoft.EntityFrameworkCore", "Warning"), StackNetworking.AppEnvironment(dotted, 1));
    }

    [Fact]
    public void All_interfaces_is_allowed_with_a_warning()
    {
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { HostAddress = "0.0.0.0" });
        Assert.NotNull(model);
        Assert.Equal("STACK1011", Assert.Single(diagnostics).Code);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var (_, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { Replicas = "0", HostPort = "x", HealthPath = "x" });
        Assert.Equal(["STACK1003", "STACK1004", "STACK1006"], diagnostics.Select(d => d.Code).Order());
    }

    [Fact]
    public void A_project_that_cannot_publish_a_container_is_refused_with_STACK5001()
    {
        var (_, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { ContainerSupport = false });
        Assert.Equal("STACK5001", Assert.Single(diagnostics).Code);
    }

    [Fact]
    public void Under_dotnet_run_replicas_run_in_Development_unless_StackEnvironment_says_otherwise_and_StackUp_keeps_Production()
    {
        static IReadOnlyList<KeyValuePair<string, string>> Env(StackInput input) => StackModelBuilder.Build(input).Model!.Environment;
        Assert.Equal([new("ASPNETCORE_ENVIRONMENT", "Development"), new("DOTNET_ENVIRONMENT", "Development")], Env(Builders.ValidInput() with { UnderRun = true }));
        // A name in either variable is the app's: the other is not set to Development, which WebApplication.CreateBuilder
        // would read over ASPNETCORE_ENVIRONMENT.
        Assert.Equal([new("ASPNETCORE_ENVIRONMENT", "Staging")],
            Env(Builders.ValidInput() with { UnderRun = true, Environment = [new("ASPNETCORE_ENVIRONMENT", "Staging")] }));
        Assert.Equal([new("DOTNET_ENVIRONMENT", "Staging")],
            Env(Builders.ValidInput() with { UnderRun = true, Environment = [new("DOTNET_ENVIRONMENT", "Staging")] }));
        Assert.Empty(Env(Builders.ValidInput()));
    }

    private const string LaunchSettings = """
        {
          // dotnet run allows comments and trailing commas here
          "profiles": {
            "IIS Express": { "commandName": "IISExpress", "environmentVariables": { "FROM": "iis" } },
            "http": {
              "commandName": "Project",
              "applicationUrl": "http://localhost:5000",
              "environmentVariables": { "ASPNETCORE_ENVIRONMENT": "Staging", "Greeting__Text": "from http", "ASPNETCORE_URLS": "http://+:5000", "aspnetcore_http_ports": "5000", },
            },
            "https": { "commandName": "Project", "environmentVariables": { "Greeting__Text": "from https" } },
          },
        }
        """;

    [Fact]
    public void Under_dotnet_run_replicas_get_the_launch_profiles_environment_without_the_variables_ProxyStack_owns()
    {
        static IReadOnlyList<KeyValuePair<string, string>> Env(StackInput input) => StackModelBuilder.Build(input).Model!.Environment;
        var run = Builders.ValidInput() with { UnderRun = true, LaunchSettings = LaunchSettings };
        // dotnet run's default: the first Project profile; its environment name is the app's (no Development beside it); URLs
        // and ports stay ours.
        Assert.Equal([new("ASPNETCORE_ENVIRONMENT", "Staging"), new("DOTNET_LAUNCH_PROFILE", "http"), new("Greeting__Text", "from http")], Env(run));
        Assert.Equal("http", StackModelBuilder.Build(run).Model!.LaunchProfile);
        // StackLaunchProfile picks another; StackEnvironment wins over the profile.
        Assert.Equal([new("ASPNETCORE_ENVIRONMENT", "Development"), new("DOTNET_ENVIRONMENT", "Development"), new("DOTNET_LAUNCH_PROFILE", "https"), new("Greeting__Text", "mine")],
            Env(run with { LaunchProfile = "https", Environment = [new("Greeting__Text", "mine")] }));
        // A secret StackEnvironment item wins too: its value is read later, and the profile's must not sit beside it.
        Assert.Equal([new("ASPNETCORE_ENVIRONMENT", "Staging"), new("DOTNET_LAUNCH_PROFILE", "http")],
            Env(run with { Secrets = [new SecretSource("Greeting__Text", "SOME_VARIABLE", "")] }));
        // A build server's StackUp reads no launch profile, even a broken one.
        Assert.Empty(Env(Builders.ValidInput() with { LaunchSettings = LaunchSettings }));
        Assert.Empty(Env(Builders.ValidInput() with { LaunchSettings = "{ not json", LaunchProfile = "nope" }));
        // No launch settings, or none with a Project profile: Development alone.
        Assert.Equal(2, Env(Builders.ValidInput() with { UnderRun = true }).Count);
        Assert.Equal(2, Env(run with { LaunchSettings = """{ "profiles": { "IIS": { "commandName": "IISExpress" } } }""" }).Count);
    }

    [Fact]
    public void Under_dotnet_run_a_StackProjects_replicas_get_its_own_launch_profiles_environment_and_an_unknown_one_is_STACK1063()
    {
        var api = new ProjectInput("api") { Path = "Api/Api.csproj", Route = "/api", LaunchSettings = LaunchSettings, LaunchSettingsPath = "/p/Api/Properties/launchSettings.json" };
        IReadOnlyList<KeyValuePair<string, string>> Env(StackInput input) => StackModelBuilder.Build(input).Model!.Projects.Single().Environment;
        var run = Builders.ValidInput() with { UnderRun = true, Projects = [api] };
        // Its own default profile (the first Project one), not the front project's; URLs and ports stay ours.
        Assert.Equal([new("ASPNETCORE_ENVIRONMENT", "Staging"), new("DOTNET_LAUNCH_PROFILE", "http"), new("Greeting__Text", "from http")], Env(run));
        // Its LaunchProfile metadata picks another; its own StackEnvironment wins over the profile.
        Assert.Equal([new("ASPNETCORE_ENVIRONMENT", "Development"), new("DOTNET_ENVIRONMENT", "Development"), new("DOTNET_LAUNCH_PROFILE", "https"), new("Greeting__Text", "mine")],
            Env(run with { Projects = [api with { LaunchProfile = "https", ItemEnvironment = [new("Greeting__Text", "mine")] }] }));
        Assert.Equal([new("ASPNETCORE_ENVIRONMENT", "Staging"), new("DOTNET_LAUNCH_PROFILE", "http")],
            Env(run with { Projects = [api with { Secrets = [new SecretSource("Greeting__Text", "SOME_VARIABLE", "")] }] }));
        // The front project's profile is the front's alone.
        Assert.DoesNotContain(StackModelBuilder.Build(run).Model!.Environment, e => e.Key == "Greeting__Text");
        // A build server's StackUp reads none, even a broken one.
        Assert.Empty(Env(Builders.ValidInput() with { Projects = [api with { LaunchSettings = "{ not json", LaunchProfile = "nope" }] }));

        var (model, diagnostics) = StackModelBuilder.Build(run with { Projects = [api with { LaunchProfile = "staging" }] });
        Assert.Null(model);
        Assert.Equal("STACK1063: StackProject 'api' has LaunchProfile 'staging', but /p/Api/Properties/launchSettings.json has no such profile: its profiles are 'IIS Express', 'http', 'https'. Set its LaunchProfile to one of its profiles, or leave it out for the one dotnet run picks by default (the first whose commandName is Project).",
            Assert.Single(diagnostics).Format());
        (model, diagnostics) = StackModelBuilder.Build(run with { Projects = [api with { LaunchSettings = "{ \"profiles\": { " }] });
        Assert.Null(model);
        Assert.StartsWith("STACK1038: /p/Api/Properties/launchSettings.json is not valid JSON: ", Assert.Single(diagnostics).Format());
    }

    [Fact]
    public void Two_launch_profiles_give_the_same_environment_when_they_set_the_same_variables_besides_ProxyStacks()
    {
        const string templates = """
            { "profiles": {
                "http": { "commandName": "Project", "applicationUrl": "http://localhost:5000", "environmentVariables": { "ASPNETCORE_ENVIRONMENT": "Development", "ASPNETCORE_URLS": "http://+:5000" } },
                "https": { "commandName": "Project", "applicationUrl": "https://localhost:5001", "environmentVariables": { "ASPNETCORE_ENVIRONMENT": "Development" } },
                "bare": { "commandName": "Project" },
                "staging": { "commandName": "Project", "environmentVariables": { "ASPNETCORE_ENVIRONMENT": "Staging" } } } }
            """;
        // The templates' pair differ only in where the app listens, which is ProxyStack's.
        Assert.True(LaunchProfiles.SameEnvironment(templates, "https", "http"));
        Assert.False(LaunchProfiles.SameEnvironment(templates, "staging", "http"));
        // A profile without variables is as none.
        Assert.True(LaunchProfiles.SameEnvironment(templates, "bare", ""));
        Assert.False(LaunchProfiles.SameEnvironment(templates, "https", ""));
        // What cannot be read is not the same: the run warns.
        Assert.False(LaunchProfiles.SameEnvironment(templates, "gone", "http"));
        Assert.False(LaunchProfiles.SameEnvironment(null, "https", "http"));
        Assert.False(LaunchProfiles.SameEnvironment("{ not json", "https", "http"));
        // Under dotnet run the model names the file the runner reads; a build server's StackUp names none.
        var run = Builders.ValidInput() with { UnderRun = true, LaunchSettings = templates, LaunchSettingsPath = "/p/Properties/launchSettings.json" };
        Assert.Equal("/p/Properties/launchSettings.json", StackModelBuilder.Build(run).Model!.LaunchSettingsFile);
        Assert.Equal("", StackModelBuilder.Build(run with { UnderRun = false }).Model!.LaunchSettingsFile);

        // The runner's warning: only for a profile with other variables than the replicas'.
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "launchSettings.json");
        File.WriteAllText(file, templates);
        var model = StackModelBuilder.Build(run with { LaunchSettingsPath = file }).Model!;
        Assert.Equal("http", model.LaunchProfile);
        Assert.Null(LaunchProfiles.Mismatch(null, model));
        Assert.Null(LaunchProfiles.Mismatch("http", model));
        Assert.Null(LaunchProfiles.Mismatch("https", model));
        Assert.Equal(string.Format(ProxyStack.Resources.Strings.LaunchProfileMismatch, "staging", "'http'"), LaunchProfiles.Mismatch("staging", model));
        // The file gone since the build: the warning, as before the comparison.
        File.Delete(file);
        Assert.NotNull(LaunchProfiles.Mismatch("https", model));
        Assert.Null(LaunchProfiles.Mismatch("http", model));
    }

    [Theory]
    [InlineData("https", "https://localhost:7245;http://localhost:5261", 0, "https://localhost:7245", 7245)]
    [InlineData("https", "http://localhost:5261; https://*:7001", 0, "https://*:7001", 7001)]
    [InlineData("https", "https://localhost", 0, "https://localhost", 8443)]
    [InlineData("http", "http://localhost:5261", 0, null, 0)]
    [InlineData("https", "https://localhost:7245", 8443, null, 0)]
    [InlineData("", "https://localhost:7245", 0, null, 0)]
    [InlineData("https", null, 0, null, 0)]
    public void A_profile_that_listens_on_HTTPS_where_the_stack_serves_none_is_told_how_to_get_it(string applied, string? urls, int httpsPort, string? url, int port)
    {
        var model = StackModelBuilder.Build(Builders.ValidInput() with { StackName = "web" }).Model! with { HttpsPort = httpsPort };
        Assert.Equal(url is null ? null : string.Format(ProxyStack.Resources.Strings.LaunchProfileHttpsNotServed, applied, url, "web", port),
            LaunchProfiles.HttpsNotServed(applied, urls, model));
    }

    [Theory]
    [InlineData("dotnet run -lp https", "https")]
    [InlineData("/usr/share/dotnet/dotnet run --project Web --launch-profile https -c Release", "https")]
    [InlineData("dotnet run --launch-profile=https", "https")]
    [InlineData("dotnet run -lp:https", "https")]
    [InlineData("dotnet run --no-launch-profile", "")]
    [InlineData("dotnet run", null)]
    [InlineData("dotnet run -- -lp https", null)]
    [InlineData("dotnet build -lp https", null)]
    [InlineData("dotnet watch run -lp https", null)]
    [InlineData("dotnet run -lp", null)]
    public void The_profile_dotnet_run_applies_is_read_from_its_command_line(string commandLine, string? expected) =>
        Assert.Equal(expected, LaunchProfiles.OnCommandLine(commandLine.Split(' ')));

    [Fact]
    public void Under_dotnet_run_unreadable_launch_settings_are_STACK1038_and_an_unknown_profile_is_STACK1039()
    {
        var run = Builders.ValidInput() with { UnderRun = true, LaunchSettingsPath = "/p/Properties/launchSettings.json" };
        var (model, diagnostics) = StackModelBuilder.Build(run with { LaunchSettings = "{ \"profiles\": { \"http\": { " });
        Assert.Null(model);
        var error = Assert.Single(diagnostics);
        Assert.Equal("STACK1038", error.Code);
        Assert.StartsWith("STACK1038: /p/Properties/launchSettings.json is not valid JSON: ", error.Format());

        (model, diagnostics) = StackModelBuilder.Build(run with { LaunchSettings = LaunchSettings, LaunchProfile = "staging" });
        Assert.Null(model);
        Assert.Equal("STACK1039: StackLaunchProfile is 'staging', but /p/Properties/launchSettings.json has no such profile: its profiles are 'IIS Express', 'http', 'https'. Set StackLaunchProfile to one of its profiles, or leave it empty for the one dotnet run picks by default (the first whose commandName is Project).",
            Assert.Single(diagnostics).Format());
        (_, diagnostics) = StackModelBuilder.Build(run with { LaunchProfile = "http" });
        Assert.Contains("has no such profile: the file does not exist.", Assert.Single(diagnostics).Format());
    }

    [Fact]
    public void A_runtime_identifier_for_another_operating_system_is_STACK1036_and_native_AOT_off_Linux_is_STACK1037()
    {
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { NativeOrTrimmed = "PublishAot", RuntimeIdentifier = "osx-arm64", HostArchitecture = "arm64", HostOperatingSystem = "macOS" });
        Assert.Null(model);
        Assert.Equal("STACK1036: Project 'HelloStack' sets RuntimeIdentifier 'osx-arm64', but its replicas run in Linux containers. Set it to linux-arm64 (Linux, on the engine's architecture), or remove it: for PublishAot and PublishTrimmed, ProxyStack publishes the container for linux-arm64 by itself.",
            Assert.Single(diagnostics).Format());

        (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { NativeOrTrimmed = "PublishAot", RuntimeIdentifier = "linux-arm64", HostArchitecture = "arm64", HostOperatingSystem = "macOS" });
        Assert.Null(model);
        Assert.Equal("STACK1037: Project 'HelloStack' sets PublishAot, and native AOT compiles for Linux only on Linux; this machine runs macOS. Bring the stack up from Linux (WSL, a Linux dev container), or set PublishAot to false for the stack (-p:PublishAot=false) and keep it for your own publish.",
            Assert.Single(diagnostics).Format());

        // Trimming is managed code: it publishes for Linux from any machine. And on Linux both are accepted as given.
        Assert.NotNull(StackModelBuilder.Build(Builders.ValidInput() with { NativeOrTrimmed = "PublishTrimmed", RuntimeIdentifier = "linux-arm64", HostOperatingSystem = "macOS" }).Model);
        Assert.NotNull(StackModelBuilder.Build(Builders.ValidInput() with { NativeOrTrimmed = "PublishAot", RuntimeIdentifier = "linux-x64" }).Model);
    }

    [Fact]
    public void A_project_that_is_not_a_web_app_is_STACK5002_and_only_that()
    {
        // A worker cannot publish a container by default either; what the user needs to hear is that it is not a web app.
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { IsWebProject = false, ContainerSupport = false });
        Assert.Null(model);
        Assert.Equal("STACK5002: Project 'HelloStack' is not an ASP.NET Core app (it uses neither Microsoft.NET.Sdk.Web nor the Microsoft.AspNetCore.App framework), so there is nothing for nginx to serve. Put the ProxyStack.Sdk line in the web project that is the stack's front door; a worker, console app or library cannot be one.",
            Assert.Single(diagnostics).Format());
    }

    [Fact]
    public void A_standalone_Blazor_WebAssembly_app_is_STACK5003_saying_where_the_Sdk_line_goes()
    {
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { IsWebProject = false, IsBlazorWebAssembly = true });
        Assert.Null(model);
        Assert.Equal("STACK5003: Project 'HelloStack' is a standalone Blazor WebAssembly app: files that run in the browser, with no server of its own for nginx to route to. Serve it from an ASP.NET Core project and put the ProxyStack.Sdk line there: the Blazor Web App template does that (dotnet new blazor --interactivity WebAssembly --all-interactive; the line goes in the server project, not in its .Client project).",
            Assert.Single(diagnostics).Format());
    }

    [Theory]
    [InlineData("mcr.microsoft.com/dotnet/aspnet:10.0", "localhost:5000", "localhost:5000/dotnet/aspnet:10.0")]
    [InlineData("nginx:stable", "localhost:5000", "localhost:5000/library/nginx:stable")]
    [InlineData("nginx", "localhost:5000", "localhost:5000/library/nginx")]
    [InlineData("docker.io/library/nginx:1.27", "mirror.example.com/hub", "mirror.example.com/hub/library/nginx:1.27")]
    [InlineData("bitnami/nginx:1", "localhost:5000/", "localhost:5000/bitnami/nginx:1")]
    public void The_registry_mirror_replaces_the_registry(string image, string mirror, string expected) =>
        Assert.Equal(expected, ImageReference.Parse(image)!.WithMirror(mirror).ToString());

    [Fact]
    public void The_mirror_applies_to_the_nginx_image_in_the_model()
    {
        var (model, _) = StackModelBuilder.Build(Builders.ValidInput() with { RegistryMirror = "localhost:5000" });
        Assert.Equal("localhost:5000/library/nginx:stable", model!.NginxImage);
    }

    [Fact]
    public void The_model_file_round_trips()
    {
        var model = Builders.Model() with { Environment = [new("A", "1")] };
        var back = StackModelFile.Deserialize(StackModelFile.Serialize(model));
        Assert.Equal(StackModelFile.Serialize(model), StackModelFile.Serialize(back));
        Assert.Equal(model.Url, back.Url);
    }
}
