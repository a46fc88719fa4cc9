using ProxyStack.Model;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>The command a message suggests runs on the stack's project from where the user is, never on a whole solution.</summary>
public sealed class DotnetBuildCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("dotnet-build-command-").FullName;
    private const string Down = "-t:StackDown -p:StackRemoveVolumes=true";

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Project(string relative)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "<Project />");
        return path;
    }

    [Fact]
    public void In_the_projects_own_folder_with_no_other_project_or_solution_the_command_is_bare()
    {
        var web = Project("src/Web/Web.csproj");
        File.WriteAllText(Path.Combine(_root, "src/Web/Program.cs"), "");
        Assert.Equal("dotnet build -t:StackDown -p:StackRemoveVolumes=true", DotnetBuildCommand.For(web, Down, Path.Combine(_root, "src/Web")));
        Assert.Equal("dotnet build -t:StackDown -p:StackRemoveVolumes=true", DotnetBuildCommand.For(web, Down, Path.Combine(_root, "src/Web") + "/"));
    }

    [Theory]
    [InlineData("Shop.sln")]
    [InlineData("Shop.slnx")]
    [InlineData("Other.fsproj")]
    public void In_the_projects_folder_beside_a_solution_or_another_project_it_names_the_project_file(string beside)
    {
        var web = Project("Web/Web.csproj");
        File.WriteAllText(Path.Combine(_root, "Web", beside), "");
        Assert.Equal($"dotnet build {web} -t:StackDown", DotnetBuildCommand.For(web, "-t:StackDown", Path.Combine(_root, "Web")));
    }

    [Fact]
    public void Anywhere_else_or_where_the_users_folder_is_unknown_it_names_the_project_by_its_full_path_quoted_when_it_has_spaces()
    {
        File.WriteAllText(Path.Combine(_root, "Shop.slnx"), "");
        var web = Project("src/Web/Web.csproj");
        // A solution root: `dotnet build -t:StackDown` there would run the target on every project of the solution.
        Assert.Equal($"dotnet build {web} {Down}", DotnetBuildCommand.For(web, Down, _root));
        Assert.Equal($"dotnet build {web} {Down}", DotnetBuildCommand.For(web, Down, Path.Combine(_root, "src/Web/obj")));
        Assert.Equal($"dotnet build {web} {Down}", DotnetBuildCommand.For(web, Down, null));
        Assert.Equal($"dotnet build {web} {Down}", DotnetBuildCommand.For(web, Down, "relative/dir"));
        var spaced = Project("my apps/Web/Web.csproj");
        Assert.Equal($"dotnet build \"{spaced}\" {Down}", DotnetBuildCommand.For(spaced, Down, _root));
    }

    [Fact]
    public void Without_a_known_project_file_the_command_is_bare() =>
        Assert.Equal("dotnet build -t:StackDown", DotnetBuildCommand.For("", "-t:StackDown", _root));
}
