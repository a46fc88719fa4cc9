using System.Reflection;
using System.Text.RegularExpressions;
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
        foreach (Match m in Regex.Matches(doc, @"STACK\d{4}"))
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

    /// <summary>Every row names at least one test, and every test it names exists (`Class.Method`, `…` a name prefix, `Class.*`).</summary>
    [Fact]
    public void Every_row_of_the_catalogue_names_tests_that_exist()
    {
        var tests = Repository.SourceFiles("tests")
            .GroupBy(Path.GetFileNameWithoutExtension)
            .ToDictionary(g => g.Key!, g => string.Join("\n", g.Select(File.ReadAllText))); // NetworkModeTests.cs exists as unit and integration test
        var rows = File.ReadAllLines(Repository.File("docs", "failure-modes.md"))
            .Where(l => l.StartsWith("| ") && !l.StartsWith("| Case") && !l.StartsWith("| Promise") && !l.StartsWith("| ---")).ToList();
        Assert.True(rows.Count > 40, $"only {rows.Count} rows found");
        foreach (var row in rows)
        {
            var refs = Regex.Matches(row, @"`([A-Z][A-Za-z]*Tests)\.([A-Za-z0-9_]+|\*)(…)?`");
            Assert.True(refs.Count > 0 || row.Contains("`build/test.sh`"), $"no test named in: {row}");
            foreach (Match r in refs)
            {
                var (cls, method, prefix) = (r.Groups[1].Value, r.Groups[2].Value, r.Groups[3].Success || r.Groups[2].Value == "*");
                Assert.True(tests.TryGetValue(cls, out var source), $"no tests/**/{cls}.cs for {r.Value}");
                if (method == "*") continue;
                Assert.True(prefix ? source!.Contains($" {method}") : Regex.IsMatch(source!, $@" {method}\("),
                    $"{r.Value} names no test in {cls}.cs");
            }
        }
    }

    [Fact]
    public void Every_code_in_the_catalogue_is_emitted_somewhere()
    {
        var sources = string.Join("\n", Repository.SourceFiles("src", "Tasks")
            .Where(f => !f.EndsWith("DiagnosticCodes.cs"))
            .Select(File.ReadAllText));
        var doc = File.ReadAllText(Repository.File("docs", "failure-modes.md"));
        foreach (Match m in Regex.Matches(doc, @"STACK\d{4}"))
        {
            Assert.True(Codes.TryGetValue(m.Value, out var name), $"{m.Value} is not a code");
            Assert.Contains($"nameof(Strings.{name})", sources);
        }
    }
}
