namespace ProxyStack.Tests;

/// <summary>Golden files under tests/Tasks.Tests/Golden: what the code must write, byte for byte.</summary>
internal static class GoldenFiles
{
    /// <summary>
    /// <paramref name="actual"/> equals the golden file <paramref name="name"/>; with PROXYSTACK_UPDATE_GOLDEN=1 the file is
    /// first rewritten from it (then read the diff before committing it).
    /// </summary>
    public static void AssertMatches(string name, string actual)
    {
        var path = Repository.File("tests", "Tasks.Tests", "Golden", name);
        if (Environment.GetEnvironmentVariable("PROXYSTACK_UPDATE_GOLDEN") == "1") File.WriteAllText(path, actual);
        Xunit.Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual);
    }
}
