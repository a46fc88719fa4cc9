using System.Reflection;
using ProxyStack.Diagnostics;
using Xunit;

namespace ProxyStack.Tests;

public class DocsTests
{
    [Fact]
    public void Every_diagnostic_code_is_documented_in_docs_errors()
    {
        var doc = File.ReadAllText(Repository.File("docs", "errors.md"));
        foreach (var f in typeof(DiagnosticCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
            Assert.Contains($"| {f.GetValue(null)}", doc);
    }

    [Fact]
    public void Docs_errors_names_no_code_that_does_not_exist()
    {
        var codes = typeof(DiagnosticCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (string)f.GetValue(null)!).ToHashSet();
        var doc = File.ReadAllText(Repository.File("docs", "errors.md"));
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(doc, @"STACK\d{4}"))
            Assert.Contains(m.Value, codes);
    }
}

public class FailureModesCatalogueTests
{
    private static readonly Dictionary<string, string> Codes = typeof(DiagnosticCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static).ToDictionary(f => (string)f.GetValue(null)!, f => f.Name);

    [Fact]
    public void Every_code_the_tasks_can_emit_is_in_the_catalogue()
    {
        var doc = File.ReadAllText(Repository.File("docs", "failure-modes.md"));
        foreach (var code in Codes.Keys) Assert.Contains(code, doc);
    }

    [Fact]
    public void Every_code_in_the_catalogue_is_emitted_somewhere()
    {
        var sources = string.Join("\n", Directory.EnumerateFiles(Repository.File("src", "Tasks"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.EndsWith("DiagnosticCodes.cs"))
            .Select(File.ReadAllText));
        var doc = File.ReadAllText(Repository.File("docs", "failure-modes.md"));
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(doc, @"STACK\d{4}"))
        {
            Assert.True(Codes.TryGetValue(m.Value, out var name), $"{m.Value} is not a code");
            Assert.Contains($"nameof(Strings.{name})", sources);
        }
    }
}
