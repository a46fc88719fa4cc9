using System.Reflection;
using System.Resources;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ProxyStack.Diagnostics;
using Xunit;

namespace ProxyStack.Tests;

public partial class DiagnosticsTableTests
{
    private static readonly Dictionary<string, string> Codes = typeof(DiagnosticCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static).ToDictionary(f => f.Name, f => (string)f.GetValue(null)!);

    private static XDocument Resx() => XDocument.Load(Repository.File("src", "Tasks", "Resources", "Strings.resx"));

    [GeneratedRegex(@"^STACK[1-5]\d{3}$")]
    private static partial Regex CodePattern();

    [Fact]
    public void Codes_are_unique_and_banded()
    {
        Assert.Equal(Codes.Count, Codes.Values.Distinct().Count());
        Assert.All(Codes.Values, c => Assert.Matches(CodePattern(), c));
    }

    [Fact]
    public void Every_code_has_a_resource_whose_value_and_StrBegin_start_with_it()
    {
        var data = Resx().Root!.Elements("data").ToDictionary(d => (string)d.Attribute("name")!);
        foreach (var (name, code) in Codes)
        {
            Assert.True(data.ContainsKey(name), $"Strings.resx has no entry '{name}' for {code}");
            Assert.StartsWith(code + ": ", (string)data[name].Element("value")!);
            Assert.StartsWith($"{{StrBegin=\"{code}: \"}}", (string?)data[name].Element("comment") ?? "");
        }
    }

    [Fact]
    public void Every_coded_resource_is_declared_in_DiagnosticCodes()
    {
        foreach (var d in Resx().Root!.Elements("data"))
        {
            var value = (string)d.Element("value")!;
            if (value.StartsWith("STACK", StringComparison.Ordinal))
                Assert.True(Codes.TryGetValue((string)d.Attribute("name")!, out var code) && value.StartsWith(code + ":"), $"{d.Attribute("name")} is coded but not declared");
        }
    }

    [Fact]
    public void Codes_used_in_targets_exist()
    {
        var targets = System.IO.File.ReadAllText(Repository.File("src", "Sdk", "Sdk", "Sdk.targets"));
        foreach (Match m in Regex.Matches(targets, "Code=\"([^\"]+)\""))
            Assert.Contains(m.Groups[1].Value, Codes.Values);
    }

    [Fact]
    public void Messages_format_with_their_arguments()
    {
        var d = Diagnostic.Error(nameof(Resources.Strings.ReplicasOutOfRange), "0", 16);
        Assert.Equal("STACK1003: StackReplicas is '0'. Set StackReplicas to a whole number from 1 to 16.", d.Format());
    }
}
