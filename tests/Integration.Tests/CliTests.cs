using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>The suite's own way of running builds: what it counts as a build's outcome.</summary>
public sealed class CliTests
{
    [Fact]
    public void A_server_build_that_exits_1_counts_as_the_verdict_its_file_logger_wrote()
    {
        // Only builds through the MSBuild server get the verdict log, added to their command line.
        var server = Cli.Dotnet(Path.GetTempPath(), ["build", "x.csproj", "-t:StackUp"], buildServer: true);
        var log = Cli.AddVerdictLog(server);
        Assert.NotNull(log);
        Assert.Equal($"-flp9:verbosity=quiet;summary;logfile={log}", server.ArgumentList[^1]);
        Assert.Null(Cli.AddVerdictLog(Cli.Dotnet(Path.GetTempPath(), ["build", "x.csproj"])));
        Assert.Null(Cli.AddVerdictLog(Cli.Dotnet(Path.GetTempPath(), ["new", "web"], buildServer: true)));

        var dropped = new ProcessResult(1, "  applied in 6.2 s\n", TimeSpan.FromSeconds(7));
        try
        {
            // No log (the build never started): the exit code stands.
            Assert.Equal(1, Cli.WithServerVerdict(dropped, log!).ExitCode);
            // The server's logger says it succeeded (dotnet/msbuild#14172): 0, and the output says why.
            File.WriteAllText(log!, "\nBuild succeeded.\n    0 Warning(s)\n    0 Error(s)\n");
            var counted = Cli.WithServerVerdict(dropped, log!);
            Assert.Equal(0, counted.ExitCode);
            Assert.Contains("dotnet/msbuild#14172", counted.Output);
            // A build that failed stays failed, and a clean exit is left alone.
            File.WriteAllText(log!, "error STACK1003: …\n\nBuild FAILED.\n    0 Warning(s)\n    1 Error(s)\n");
            var failed = Cli.WithServerVerdict(dropped, log!);
            Assert.Equal(1, failed.ExitCode);
            // Its output dropped too (no summary in it): the logger's errors are added, and the output says why.
            Assert.Contains("error STACK1003: …", failed.Output);
            Assert.Contains("dotnet/msbuild#14172", failed.Output);
            // Not where the client's output has its summary (nothing was dropped).
            var whole = dropped with { Output = "error STACK1003: …\nBuild FAILED.\n" };
            Assert.Same(whole, Cli.WithServerVerdict(whole, log!));
            var clean = dropped with { ExitCode = 0 };
            Assert.Same(clean, Cli.WithServerVerdict(clean, log!));
        }
        finally { File.Delete(log!); }
    }

    /// <summary>
    /// A command that outlives its wait is described before it is killed — the terminal's foreground group and settings, each
    /// process's signals and where it sleeps — so that a hang the suite meets once can be told apart afterwards.
    /// </summary>
    [Fact]
    public async Task A_command_in_a_terminal_that_does_not_exit_in_time_is_described_then_killed()
    {
        if (!OperatingSystem.IsLinux()) return;
        var sleeper = new System.Diagnostics.ProcessStartInfo("sh") { WorkingDirectory = Path.GetTempPath(), ArgumentList = { "-c", "trap '' INT; sleep 37" } };
        using var run = RunningProcess.StartInTerminal(sleeper);
        Assert.True(await run.WaitForOutputAsync("never printed", TimeSpan.FromSeconds(1)) is false);
        Assert.Null(await run.WaitForExitAsync(TimeSpan.FromSeconds(1)));
        var output = run.Output;
        Assert.Contains("[test] pid ppid pgrp session tpgid state wchan", output);
        // The sleep is a process of the tree, and ignores SIGINT as its shell told it to (bit 2 of SigIgn).
        var sleep = output.Split('\n').Single(l => l.StartsWith("[test] ", StringComparison.Ordinal) && l.TrimEnd().EndsWith("| sleep 37", StringComparison.Ordinal));
        Assert.True((Convert.ToUInt64(sleep.Split('|')[1].Trim().Split(' ')[3], 16) & 2) != 0, output);
        Assert.Matches(@"(?m)^\[test\] /dev/pts/\d+: .*\bisig\b", output);
    }
}
