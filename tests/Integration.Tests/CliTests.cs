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
            Assert.Equal(1, Cli.WithServerVerdict(dropped, log!).ExitCode);
            var clean = dropped with { ExitCode = 0 };
            Assert.Same(clean, Cli.WithServerVerdict(clean, log!));
        }
        finally { File.Delete(log!); }
    }
}
