using ProxyStack.Diagnostics;
using ProxyStack.Manifests;
using ProxyStack.Model;
using ProxyStack.Planning;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>
/// A SQLite file of the app's own folder (the individual-accounts templates' app.db): found in appsettings.json, given a volume
/// the replicas share, its connection string pointed there.
/// </summary>
public class FileDatabaseTests
{
    private const string WebappTemplate = """
        {
          "ConnectionStrings": {
            "DefaultConnection": "DataSource=app.db;Cache=Shared"
          },
          "Logging": { "LogLevel": { "Default": "Information" } },
          "AllowedHosts": "*"
        }
        """;

    private static Dictionary<string, string> Settings(string json, string? development = null)
    {
        var files = new Dictionary<string, string> { ["appsettings.json"] = json };
        if (development is not null) files["appsettings.Development.json"] = development;
        return files;
    }

    private static IReadOnlyList<FileDatabase> Find(string json, params KeyValuePair<string, string>[] env) => FileDatabases.Find(Settings(json), env);

    private static string Strings(string connectionString) => $$"""{ "ConnectionStrings": { "Db": "{{connectionString.Replace("\\", "\\\\")}}" } }""";

    [Fact]
    public void The_webapp_templates_database_goes_to_the_volume_with_its_other_settings_kept()
    {
        var database = Assert.Single(Find(WebappTemplate));
        Assert.Equal(new FileDatabase("DefaultConnection", "app.db", "datasource=/proxystack/data/app.db;cache=Shared"), database);
        Assert.Equal("ConnectionStrings__DefaultConnection", database.EnvironmentName);
    }

    [Fact]
    public void The_blazor_templates_Windows_path_is_a_file_in_a_folder_of_the_app()
    {
        // The blazor template writes "DataSource=Data\\app.db;Cache=Shared": on Linux that would be one file named with a backslash.
        var database = Assert.Single(Find(Strings(@"DataSource=Data\app.db;Cache=Shared")));
        Assert.Equal("Data/app.db", database.File);
        Assert.Equal("Data-app.db", database.VolumeFile);
        Assert.Equal("datasource=/proxystack/data/Data-app.db;cache=Shared", database.ConnectionString);
    }

    [Theory]
    [InlineData("Data Source=./db/shop.sqlite", "db/shop.sqlite")]
    [InlineData("Filename=todo.db;Foreign Keys=True", "todo.db")]
    [InlineData("Data Source=app.db;Mode=ReadWriteCreate;Pooling=False", "app.db")]
    public void Other_spellings_of_a_SQLite_file_are_found(string connectionString, string file) =>
        Assert.Equal(file, Assert.Single(Find(Strings(connectionString))).File);

    [Theory]
    [InlineData(@"Server=(localdb)\mssqllocaldb;Database=aspnet-App;Trusted_Connection=True;MultipleActiveResultSets=true")]
    [InlineData("Data Source=db.example.com;Initial Catalog=shop;User ID=sa")]
    [InlineData("Host=db;Database=shop;Username=postgres")]
    [InlineData("localhost:6379")]
    [InlineData("Data Source=:memory:")]
    [InlineData("Data Source=shared;Mode=Memory;Cache=Shared")]
    [InlineData("Data Source=/var/lib/shop/app.db")]
    [InlineData("Data Source=|DataDirectory|app.db")]
    [InlineData("Data Source=../outside.db")]
    [InlineData("Data Source=file:app.db?mode=ro")]
    public void Other_databases_and_files_the_user_placed_are_left_alone(string connectionString) =>
        Assert.Empty(Find(Strings(connectionString)));

    [Fact]
    public void A_connection_string_the_replicas_environment_sets_is_the_users()
    {
        Assert.Empty(Find(WebappTemplate, new KeyValuePair<string, string>("ConnectionStrings__DefaultConnection", "Host=db")));
        // Configuration keys are case-insensitive, and a StackContainer's wiring counts (the builder passes it in).
        Assert.Empty(Find(WebappTemplate, new KeyValuePair<string, string>("connectionstrings__defaultconnection", "Host=db")));
        Assert.Empty(Find(WebappTemplate, new KeyValuePair<string, string>("ConnectionStrings:DefaultConnection", "Host=db")));
    }

    [Fact]
    public void The_environments_own_settings_file_wins_as_in_ASP_NET_Core()
    {
        var development = Strings("DataSource=dev.db");
        Assert.Equal("app.db", Assert.Single(FileDatabases.Find(Settings(WebappTemplate, development), [])).File);
        var underRun = FileDatabases.Find(Settings(WebappTemplate.Replace("DefaultConnection", "Db"), development), [new("ASPNETCORE_ENVIRONMENT", "Development")]);
        Assert.Equal("dev.db", Assert.Single(underRun).File);
        // Both named and different: DOTNET_ENVIRONMENT is the app's environment, as WebApplication.CreateBuilder reads it.
        var both = FileDatabases.Find(Settings(WebappTemplate.Replace("DefaultConnection", "Db"), development),
            [new("DOTNET_ENVIRONMENT", "Development"), new("ASPNETCORE_ENVIRONMENT", "Staging")]);
        Assert.Equal("dev.db", Assert.Single(both).File);
    }

    [Fact]
    public void Unreadable_settings_say_nothing() =>
        Assert.Empty(FileDatabases.Find(Settings("{ not json"), []));

    private static StackModel Model(int replicas = 2, string json = WebappTemplate, params KeyValuePair<string, string>[] env) =>
        StackModelBuilder.Build(Builders.ValidInput() with { StackName = "hello", Replicas = replicas.ToString(), AppSettings = Settings(json), Environment = env }).Model!;

    [Fact]
    public void Replicas_share_one_seeded_volume_and_get_the_connection_string()
    {
        var model = Model();
        var spec = ContainerSpecs.App(model, model.AppName(1), 1, Builders.AppImageId, "h");
        var data = Assert.Single(spec.Mounts, m => m.Source == "hello-appdata");
        Assert.Equal(FileDatabases.Directory, data.Target);
        Assert.True(data.OwnedByContainerUser);
        Assert.Equal([new VolumeSeed("app.db", "app.db")], data.Seeds);
        Assert.Contains(new KeyValuePair<string, string>("ConnectionStrings__DefaultConnection", "datasource=/proxystack/data/app.db;cache=Shared"), spec.Environment);
    }

    [Fact]
    public void A_stack_without_a_file_database_is_planned_and_hashed_as_before()
    {
        var without = Model(json: "{}");
        Assert.Empty(without.Databases);
        Assert.DoesNotContain(ContainerSpecs.App(without, without.AppName(1), 1, Builders.AppImageId, "h").Mounts, m => m.Source.Contains("appdata"));
        Assert.NotEqual(Reconciler.AppHash(without, Builders.AppImageId), Reconciler.AppHash(Model(), Builders.AppImageId));
    }

    [Fact]
    public void A_fresh_stack_creates_the_volume_labelled_before_any_replica_and_a_kept_one_is_reused()
    {
        var model = Model();
        var plan = Builders.Reconcile(model, new ObservedState { ImageIds = Builders.Images() }).Plan;
        var create = Assert.Single(plan.Steps, s => s.Kind == StepKind.CreateVolume && s.Resource == "hello-appdata");
        Assert.Equal(StackLabels.RoleData, create.Labels![StackLabels.Role]);
        Assert.All(plan.Steps.Where(s => s.Kind == StepKind.CreateContainer && s.Resource.Contains("-app-")), s => Assert.Contains(create.Id, s.DependsOn));

        var kept = new ObservedState
        {
            ImageIds = Builders.Images(),
            Volumes = [new ObservedVolume("hello-appdata", Reconciler.Labels(model, StackLabels.RoleData)), new ObservedVolume("hello-keys", Reconciler.Labels(model, StackLabels.RoleKeys))],
        };
        var reused = Builders.Reconcile(model, kept);
        Assert.False(reused.HasErrors, string.Join("\n", reused.Diagnostics));
        Assert.DoesNotContain(reused.Plan.Steps, s => s.Kind == StepKind.CreateVolume);
    }

    [Fact]
    public void A_StackProject_gets_its_own_volume_from_its_own_settings()
    {
        var input = Builders.ValidInput() with
        {
            StackName = "hello",
            Projects = [new ProjectInput("api") { Path = "Api/Api.csproj", Exists = true, Route = "/api", AppSettings = Settings(WebappTemplate) }],
        };
        var model = StackModelBuilder.Build(input).Model!;
        Assert.Empty(model.Databases);
        var api = model.SetOf("api")!;
        Assert.Equal("hello-appdata-api", api.DataVolumeName);
        Assert.Equal(["hello-appdata-api"], model.DataVolumeNames);
        Assert.Contains(ContainerSpecs.App(api, api.AppName(1), 1, Builders.AppImageId, "h").Mounts, m => m.Source == "hello-appdata-api");
    }

    [Fact]
    public async Task StackDown_keeps_the_database_volume_and_says_what_each_kept_kind_holds()
    {
        var model = Model();
        var engine = new FakeEngine();
        engine.Volumes["hello-appdata"] = Reconciler.Labels(model, StackLabels.RoleData);
        var log = new CapturingStackLog();
        await Execution.StackTeardown.RunAsync(engine, log, "hello", owner: null, projectFile: "", CancellationToken.None);
        Assert.Contains("Stack 'hello': kept volume(s) hello-appdata (the app's SQLite databases). Remove them with: dotnet build -t:StackDown -p:StackRemoveVolumes=true", log.Milestones);

        engine.Volumes["hello-keys"] = Reconciler.Labels(model, StackLabels.RoleKeys);
        engine.Volumes["hello-db-data"] = Reconciler.Labels(model, StackLabels.RoleData);
        log = new CapturingStackLog();
        await Execution.StackTeardown.RunAsync(engine, log, "hello", owner: null, projectFile: "", CancellationToken.None);
        Assert.Contains("Stack 'hello': kept volume(s) hello-appdata, hello-db-data, hello-keys (the Data Protection key rings, so sign-ins and forms survive the next StackUp; the app's SQLite databases; the backing containers' data). Remove them with: dotnet build -t:StackDown -p:StackRemoveVolumes=true", log.Milestones);

        await Execution.StackTeardown.RunAsync(engine, new CapturingStackLog(), "hello", owner: null, projectFile: "", CancellationToken.None, removeVolumes: true);
        Assert.Empty(engine.Volumes);
    }

    [Fact]
    public void A_backing_containers_volume_may_not_take_the_databases_name()
    {
        var input = Builders.ValidInput() with { StackName = "hello", Containers = [new ServiceInput("db") { Image = "postgres:15", Volume = "appdata:/var/lib/postgresql/data" }] };
        Assert.Contains(StackModelBuilder.Build(input).Diagnostics, d => d.IsError && d.Format().Contains("appdata"));
    }

    [Theory]
    [InlineData(StackTargets.Swarm)]
    [InlineData(StackTargets.Kubernetes)]
    [InlineData(StackTargets.Compose)]
    public void A_published_stack_is_warned_and_keeps_the_images_own_setting(string target)
    {
        var model = Model();
        var warning = Assert.Single(StackWorkloads.Check(model, target), d => d.Code == DiagnosticCodes.FileDatabaseNotPublished);
        Assert.False(warning.IsError);
        Assert.StartsWith("STACK1058: The app's connection string 'DefaultConnection' is a SQLite file in its own folder (app.db).", warning.Format());
        var published = StackWorkloads.ForTarget(model, target);
        Assert.Empty(published.Databases);
        Assert.DoesNotContain(StackNetworking.AppEnvironment(published, 1), e => e.Key == "ConnectionStrings__DefaultConnection");
    }
}
