using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>The public property set is the same in src/Sdk/README.md, Sdk.props and what Sdk.targets reads.</summary>
public partial class SdkSurfaceTests
{
    // Outputs and the test seam: read by targets, but not user input.
    // Outputs, the tasks assembly and extension points (StackPublishDependsOn, StackDeployDependsOn, like ApplyStackDependsOn), not settings.
    private static readonly string[] NotInputs = ["StackUrl", "StackAppImage", "StackTasksAssembly", "StackPublishDependsOn", "StackDeployDependsOn"];

    [GeneratedRegex(@"^\| `(Stack\w+)` \|", RegexOptions.Multiline)]
    private static partial Regex ReadmeRow();

    [GeneratedRegex(@"\$\((Stack\w+)\)")]
    private static partial Regex PropertyUse();

    private static SortedSet<string> Readme() => Documented("src", "Sdk", "README.md");

    /// <summary>The first column of the properties table (the text before any "## Items" section).</summary>
    private static SortedSet<string> Documented(params string[] path)
    {
        var text = File.ReadAllText(Repository.File(path));
        var items = text.IndexOf("\n## Items", StringComparison.Ordinal);
        return new(ReadmeRow().Matches(items < 0 ? text : text[..items]).Select(m => m.Groups[1].Value));
    }

    private static SortedSet<string> Props() =>
        new(XDocument.Load(Repository.File("src", "Sdk", "Sdk", "Sdk.props")).Descendants()
            .Where(e => e.Parent?.Name.LocalName == "PropertyGroup" && e.Name.LocalName.StartsWith("Stack", StringComparison.Ordinal))
            .Select(e => e.Name.LocalName));

    private static SortedSet<string> ReadByTargets() =>
        new(PropertyUse().Matches(File.ReadAllText(Repository.File("src", "Sdk", "Sdk", "Sdk.targets")))
            .Select(m => m.Groups[1].Value).Where(p => !NotInputs.Contains(p)));

    [Fact]
    public void Readme_and_props_list_the_same_properties() => Assert.Equal(Readme(), Props());

    [Fact]
    public void Docs_reference_lists_the_same_properties() => Assert.Equal(Readme(), Documented("docs", "reference.md"));

    [Fact]
    public void Targets_read_exactly_the_documented_properties() => Assert.Equal(Readme(), ReadByTargets());

    [Fact]
    public void Every_default_in_props_has_a_comment_above_it()
    {
        var doc = XDocument.Load(Repository.File("src", "Sdk", "Sdk", "Sdk.props"));
        foreach (var e in doc.Descendants().Where(e => e.Name.LocalName.StartsWith("Stack", StringComparison.Ordinal)))
            Assert.IsType<XComment>(e.PreviousNode);
    }

    [Fact]
    public void Private_targets_start_with_an_underscore_and_public_ones_are_verbs_with_the_stack_noun()
    {
        var targets = XDocument.Load(Repository.File("src", "Sdk", "Sdk", "Sdk.targets")).Root!.Elements()
            .Where(e => e.Name.LocalName == "Target").Select(e => (string)e.Attribute("Name")!);
        Assert.All(targets, t => Assert.True(t.StartsWith("_Stack", StringComparison.Ordinal) || t.Contains("Stack"), t));
    }
}
