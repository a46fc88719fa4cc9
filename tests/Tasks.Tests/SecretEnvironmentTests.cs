using TaskItem = Microsoft.Build.Utilities.TaskItem;
using ProxyStack.Model;
using ProxyStack.MSBuild;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>StackEnvironment items with FromEnvironment / FromFile: validated with the other input, read only at apply time.</summary>
public sealed class SecretEnvironmentTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("proxystack-secrets-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Values_come_from_the_environment_or_a_file_without_its_trailing_line_break()
    {
        File.WriteAllText(Path.Combine(_dir, "key"), "file-value\n");
        File.WriteAllText(Path.Combine(_dir, "multi"), "line 1\r\nline 2\r\n\r\n");
        var (values, diagnostics) = SecretEnvironment.Resolve(
            [new("FROM_ENV", "BUILD_VAR", ""), new("FROM_FILE", "", Path.Combine(_dir, "key")), new("MULTI", "", Path.Combine(_dir, "multi"))],
            v => v == "BUILD_VAR" ? "env-value" : null, File.ReadAllText);
        Assert.Empty(diagnostics);
        Assert.Equal([new("FROM_ENV", "env-value"), new("FROM_FILE", "file-value"), new("MULTI", "line 1\r\nline 2\r\n")], values);
    }

    [Fact]
    public void An_unset_variable_or_a_missing_file_is_a_coded_error_naming_item_and_source()
    {
        var missing = Path.Combine(_dir, "nope");
        var (values, diagnostics) = SecretEnvironment.Resolve(
            [new("DB_PASSWORD", "ORDERS_DB_PASSWORD", ""), new("API_KEY", "", missing)], _ => null, File.ReadAllText);
        Assert.Empty(values);
        Assert.All(diagnostics, d => Assert.Equal("STACK1018", d.Code));
        Assert.Contains("'DB_PASSWORD'", diagnostics[0].Format());
        Assert.Contains("environment variable 'ORDERS_DB_PASSWORD'", diagnostics[0].Format());
        Assert.Contains("not set", diagnostics[0].Format());
        Assert.Contains($"file '{missing}'", diagnostics[1].Format());
        Assert.Contains("does not exist", diagnostics[1].Format());
    }

    [Theory]
    [InlineData("both sources", "S", "VAR", "/x", "", "STACK1016")]
    [InlineData("a source and a value", "S", "VAR", "", "plain", "STACK1016")]
    [InlineData("a variable that is no variable name", "S", "NOT-A-NAME", "", "", "STACK1017")]
    [InlineData("an item name Docker cannot take", "1S", "VAR", "", "", "STACK1013")]
    public void Conflicting_or_invalid_sources_are_refused_before_anything_runs(string why, string name, string fromEnv, string fromFile, string value, string code)
    {
        var input = Builders.ValidInput() with
        {
            Secrets = [new(name, fromEnv, fromFile)],
            Environment = value.Length > 0 ? [new(name, value)] : [],
        };
        var (model, diagnostics) = StackModelBuilder.Build(input);
        Assert.True(model is null, why);
        Assert.Equal(code, Assert.Single(diagnostics).Code);
        Assert.Contains($"'{name}'", diagnostics[0].Format());
    }

    [Fact]
    public void Two_items_of_the_same_name_with_different_sources_are_refused()
    {
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { Secrets = [new("S", "A", ""), new("S", "", "/f")] });
        Assert.Null(model);
        Assert.Equal("STACK1016", Assert.Single(diagnostics).Code);
    }

    [Fact]
    public void ComputeStackModel_keeps_sources_in_the_model_never_values()
    {
        File.WriteAllText(Path.Combine(_dir, "api-key.txt"), "never-in-the-model");
        var build = new CapturingBuildEngine();
        var fromFile = new TaskItem("Api__Key");
        fromFile.SetMetadata("FromFile", Path.Combine(_dir, "api-key.txt"));
        var fromEnv = new TaskItem("ConnectionStrings__Db");
        fromEnv.SetMetadata("FromEnvironment", "ORDERS_DB");
        var both = new TaskItem("Plain");
        both.SetMetadata("Value", "hello");
        var task = new ComputeStackModel
        {
            BuildEngine = build, ProjectName = "a", StackReplicas = "1", StackHostPort = "8080", StackHostAddress = "127.0.0.1",
            StackAppPort = "8080", StackHealthPath = "/", StackReadyTimeout = "60", StackNginxImage = "nginx:stable",
            StackNetworkMode = "bridge", StackKeepRunning = "false", StackEnvironment = [fromFile, fromEnv, both], ModelFile = Path.Combine(_dir, "m.json"),
        };
        Assert.True(task.Execute(), string.Join("\n", build.Errors.Select(e => e.Message)));
        var json = File.ReadAllText(task.ModelFile);
        Assert.DoesNotContain("never-in-the-model", json);
        var model = StackModelFile.Deserialize(json);
        Assert.Equal([new("Api__Key", "", Path.Combine(_dir, "api-key.txt")), new("ConnectionStrings__Db", "ORDERS_DB", "")], model.Secrets);
        Assert.Equal([new KeyValuePair<string, string>("Plain", "hello")], model.Environment);
    }

    [Fact]
    public void A_semicolon_written_as_percent_3B_in_a_StackContainer_Environment_stays_inside_its_value()
    {
        var build = new CapturingBuildEngine();
        var db = new TaskItem("db");
        db.SetMetadata("Image", "postgres:15");
        db.SetMetadata("Environment", "POSTGRES_PASSWORD=a%3Bb%25;POSTGRES_DB=shop");
        var task = new ComputeStackModel
        {
            BuildEngine = build, ProjectName = "a", StackReplicas = "1", StackHostPort = "8080", StackHostAddress = "127.0.0.1",
            StackAppPort = "8080", StackHealthPath = "/", StackReadyTimeout = "60", StackNginxImage = "nginx:stable",
            StackNetworkMode = "bridge", StackKeepRunning = "false", StackContainer = [db], ModelFile = Path.Combine(_dir, "m.json"),
        };
        Assert.True(task.Execute(), string.Join("\n", build.Errors.Select(e => e.Message)));
        var service = Assert.Single(StackModelFile.Deserialize(File.ReadAllText(task.ModelFile)).Services);
        Assert.Equal([new("POSTGRES_DB", "shop"), new KeyValuePair<string, string>("POSTGRES_PASSWORD", "a;b%")], service.Environment);
        Assert.Equal("a;b%", new System.Data.Common.DbConnectionStringBuilder { ConnectionString = service.ConnectionString }["Password"]);
    }

    [Fact]
    public void ApplyStack_with_an_unavailable_secret_fails_before_touching_the_engine()
    {
        var model = Builders.Model(1) with { Secrets = [new("DB_PASSWORD", "PROXYSTACK_TEST_UNSET_" + Guid.NewGuid().ToString("N"), "")] };
        var engine = new FakeEngine();
        using var scratch = new TaskScratch();
        Assert.False(scratch.Apply(model, engine).Execute());
        Assert.Equal("STACK1018", Assert.Single(scratch.Build.Errors).Code);
        Assert.Empty(engine.Calls);
        Assert.Empty(engine.Containers);
    }
}
