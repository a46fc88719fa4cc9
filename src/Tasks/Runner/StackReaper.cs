using System.Runtime.InteropServices;
using ProxyStack.Engine;
using ProxyStack.Execution;
using ProxyStack.Model;

namespace ProxyStack.Runner;

/// <summary>
/// Makes sure a `dotnet run` stack never outlives its `dotnet run` (in the spirit of Testcontainers' Ryuk, but on the host):
/// started by ApplyStack before the first container exists, it watches the `dotnet run` process and, once that is gone — by
/// Ctrl-C, SIGTERM from an IDE, SIGKILL, or a crash, at any point of the bring-up or after — removes the stack, unless
/// another `dotnet run` of it is still alive. It leaves the terminal's session and ignores the signals a terminal or an IDE
/// sends to the whole group, so only the end of the watched process ends it.
///   dotnet ProxyStack.Tasks.dll reap &lt;model.json&gt; &lt;pid&gt; &lt;start marker&gt;
/// </summary>
internal static partial class StackReaper
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan TeardownTimeout = TimeSpan.FromSeconds(120);

    [LibraryImport("libc", EntryPoint = "setsid")]
    private static partial int SetSid();

    public static async Task<int> MainAsync(string[] args)
    {
        if (args is not ["reap", var modelFile, var pidText, var marker] || !int.TryParse(pidText, out var pid) || !File.Exists(modelFile))
        {
            Console.Error.WriteLine("usage: dotnet ProxyStack.Tasks.dll reap <model.json> <pid> <start marker>");
            return 2;
        }
        if (!OperatingSystem.IsWindows()) _ = SetSid();
        void Ignore(PosixSignalContext c) => c.Cancel = true;
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Ignore);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Ignore);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Ignore);

        var model = StackModelFile.Deserialize(await File.ReadAllTextAsync(modelFile).ConfigureAwait(false));
        var log = new ConsoleStackLog(verbose: true);
        log.Milestone($"{DateTime.UtcNow:O} watching pid {pid} for stack '{model.Name}'");
        while (RunRegistry.StartMarker(pid) == marker) await Task.Delay(Poll).ConfigureAwait(false);
        log.Milestone($"{DateTime.UtcNow:O} pid {pid} ended");

        using var timeout = new CancellationTokenSource(TeardownTimeout);
        try
        {
            using var engine = new DockerEngine();
            var failures = await StackTeardown.EndRunAsync(engine, log, model, pid, timeout.Token).ConfigureAwait(false) ?? [];
            foreach (var f in failures) log.Error("error " + f.Format());
            return failures.Count == 0 ? 0 : 1;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.Error($"teardown of '{model.Name}' failed: {e.Message}");
            return 1;
        }
    }
}
