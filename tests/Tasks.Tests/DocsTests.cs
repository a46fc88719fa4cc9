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
