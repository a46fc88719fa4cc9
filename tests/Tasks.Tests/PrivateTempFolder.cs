using System.Runtime.CompilerServices;

namespace ProxyStack.Tests;

/// <summary>
/// The unit tests' temp folder is their own. The product keeps a stack's lock and its `dotnet run` registrations in the temp
/// folder under the stack's name (<see cref="Execution.StackLock"/>, <see cref="Execution.RunRegistry"/>), and these tests
/// run tasks for stacks named like a user's ("hello", and "hellostack", the sample's): with the machine's temp folder, a
/// bring-up of the sample in progress held the suite for its lock timeout, and the suite held the user's bring-up in turn.
/// Set before any test runs (TMPDIR on Unix, TMP and TEMP on Windows, which Path.GetTempPath reads on every call) and
/// removed when the test process ends.
/// </summary>
internal static class PrivateTempFolder
{
    public static string Path { get; private set; } = "";

    [ModuleInitializer]
    internal static void Use()
    {
        Path = Directory.CreateTempSubdirectory("proxystack-unit-tests-").FullName + System.IO.Path.DirectorySeparatorChar;
        foreach (var variable in OperatingSystem.IsWindows() ? new[] { "TMP", "TEMP" } : ["TMPDIR"])
            Environment.SetEnvironmentVariable(variable, Path);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(Path, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        };
    }
}
