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

    /// <summary>A code the SDK's targets raise with an Error task says what its resource says (the targets cannot read it).</summary>
    [Fact]
    public void A_code_raised_by_the_targets_has_its_resource_text()
    {
        var targets = File.ReadAllText(Repository.File("src", "Sdk", "Sdk", "Sdk.targets"));
        var error = Regex.Match(targets, "Code=\"STACK1047\"\\s+Text=\"([^\"]*)\"");
        Assert.True(error.Success);
        var text = System.Net.WebUtility.HtmlDecode(error.Groups[1].Value).Replace("$(_StackMSBuildVersion)", "{0}");
        Assert.Equal(ProxyStack.Resources.Strings.MSBuildTooOld, "STACK1047: " + text);
        var crossTargeting = File.ReadAllText(Repository.File("src", "Sdk", "Sdk", "CrossTargeting.targets"));
        var several = Regex.Match(crossTargeting, "Code=\"STACK1060\" File=\"\\$\\(MSBuildProjectFullPath\\)\"\\s+Text=\"([^\"]*)\"");
        Assert.True(several.Success);
        Assert.Equal(ProxyStack.Resources.Strings.SeveralTargetFrameworks, "STACK1060: " + System.Net.WebUtility.HtmlDecode(several.Groups[1].Value)
            .Replace("'$(TargetFrameworks)'", "'{0}'").Replace("@(_StackTargetFramework, ' or -f ')", "{1}"));
        var project = File.ReadAllText(Repository.File("src", "Sdk", "Sdk", "Project.targets"));
        var background = Regex.Match(project, "Code=\"STACK1061\" File=\"\\$\\(MSBuildProjectFullPath\\)\"\\s+Text=\"([^\"]*)\"");
        Assert.True(background.Success);
        Assert.Equal(ProxyStack.Resources.Strings.WebProjectInBackground, "STACK1061: " + System.Net.WebUtility.HtmlDecode(background.Groups[1].Value)
            .Replace("$(_StackProjectName)", "{0}").Replace("$(MSBuildProjectFile)", "{1}"));
        // StackPublish's and StackDeploy's checks share one text.
        var shared = Regex.Match(targets, "<_StackTargetInvalidText>([^<]*)</_StackTargetInvalidText>");
        Assert.True(shared.Success);
        Assert.Equal(2, Regex.Matches(targets, "Code=\"STACK1050\" *\\s*Text=\"\\$\\(_StackTargetInvalidText\\)\"").Count);
        Assert.Equal(ProxyStack.Resources.Strings.StackTargetInvalid, "STACK1050: " + System.Net.WebUtility.HtmlDecode(shared.Groups[1].Value).Replace("$(StackTarget)", "{0}"));
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

    /// <summary>
    /// A row's code must be asserted by a test it names, not only claimed: for every code in the row's Code column, at least one
    /// named test mentions it — in its own body or in the data table right above it (a theory's rows).
    /// </summary>
    [Fact]
    public void Every_code_of_a_row_is_mentioned_by_a_test_the_row_names()
    {
        var tests = Repository.SourceFiles("tests")
            .GroupBy(Path.GetFileNameWithoutExtension)
            .ToDictionary(g => g.Key!, g => g.Select(File.ReadAllText).ToList());
        var missing = new List<string>();
        foreach (var (code, refs, row) in CatalogueRows())
        {
            var mentioned = refs.Any(r => TestTexts(tests, r).Any(t => t.Contains(code, StringComparison.Ordinal)));
            if (!mentioned) missing.Add($"{code} in: {row[..Math.Min(100, row.Length)]}");
        }
        Assert.True(missing.Count == 0, string.Join("\n", missing));
    }

    /// <summary>The summary's counts are the rows of its three tables (it had fallen behind by 16 rows unnoticed).</summary>
    [Fact]
    public void The_catalogues_summary_counts_its_rows()
    {
        var lines = File.ReadAllLines(Repository.File("docs", "failure-modes.md"));
        int Rows(string heading) => lines.SkipWhile(l => !l.StartsWith(heading)).Skip(1).TakeWhile(l => !l.StartsWith("## "))
            .Count(l => l.StartsWith("| ") && !l.StartsWith("| Case") && !l.StartsWith("| Promise") && !l.StartsWith("| ---"));
        var summary = Assert.Single(lines, l => l.StartsWith("**Summary:**"));
        Assert.StartsWith($"**Summary:** {Rows("## Bad input")} kinds of bad input, {Rows("## Faults")} faults and {Rows("## Secure defaults")} promises ", summary);
    }

    /// <summary>(code, named tests, row) for every code in the Code column of the catalogue's tables.</summary>
    private static IEnumerable<(string Code, List<string> Refs, string Row)> CatalogueRows()
    {
        var codeColumn = -1;
        foreach (var line in File.ReadAllLines(Repository.File("docs", "failure-modes.md")))
        {
            if (!line.StartsWith("| ")) { codeColumn = -1; continue; }
            var cells = line.Trim('|').Split(" | ").Select(c => c.Trim()).ToList();
            if (line.StartsWith("| Case") || line.StartsWith("| Promise")) { codeColumn = cells.IndexOf("Code"); continue; }
            if (codeColumn < 0 || line.StartsWith("| ---")) continue;
            var refs = Regex.Matches(cells[^1], @"`([A-Z][A-Za-z]*Tests\.[A-Za-z0-9_*]+)(…)?`").Select(m => m.Groups[1].Value).ToList();
            foreach (Match code in Regex.Matches(cells[codeColumn], @"STACK\d{4}")) yield return (code.Value, refs, line);
        }
    }

    /// <summary>The text of a named test: from the end of the test before it (so its data table counts) to the next test.</summary>
    private static IEnumerable<string> TestTexts(Dictionary<string, List<string>> tests, string reference)
    {
        var (cls, method) = (reference[..reference.IndexOf('.')], reference[(reference.IndexOf('.') + 1)..]);
        if (!tests.TryGetValue(cls, out var files)) yield break;
        foreach (var source in files)
        {
            if (method == "*") { yield return source; continue; }
            var declarations = Regex.Matches(source, @"public (?:async )?(?:void|Task) ([A-Za-z0-9_]+)\(").ToList();
            for (var i = 0; i < declarations.Count; i++)
            {
                if (!declarations[i].Groups[1].Value.StartsWith(method, StringComparison.Ordinal)) continue;
                var start = i == 0 ? 0 : declarations[i - 1].Index + declarations[i - 1].Length;
                var end = i + 1 < declarations.Count ? declarations[i + 1].Index : source.Length;
                yield return source[start..end];
            }
        }
    }

    [Fact]
    public void Every_code_in_the_catalogue_is_emitted_somewhere()
    {
        var sources = string.Join("\n", Repository.SourceFiles("src", "Tasks")
            .Where(f => !f.EndsWith("DiagnosticCodes.cs"))
            .Select(File.ReadAllText));
        var targets = string.Join("\n", Directory.EnumerateFiles(Repository.File("src", "Sdk", "Sdk"), "*.targets").Select(File.ReadAllText));
        var doc = File.ReadAllText(Repository.File("docs", "failure-modes.md"));
        foreach (Match m in Regex.Matches(doc, @"STACK\d{4}"))
        {
            Assert.True(Codes.TryGetValue(m.Value, out var name), $"{m.Value} is not a code");
            Assert.True(sources.Contains($"nameof(Strings.{name})") || targets.Contains($"Code=\"{m.Value}\""), $"{m.Value} is emitted nowhere");
        }
    }
}
