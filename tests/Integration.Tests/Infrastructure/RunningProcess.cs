using System.Diagnostics;
using System.Text;

namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>A long-running command (dotnet run) in its own process group, whose output can be awaited line by line.</summary>
public sealed class RunningProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly object _gate = new();

    private RunningProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
    }

    public int Id => _process.Id;
    public string Output { get { lock (_gate) return _output.ToString(); } }
    public bool HasExited => _process.HasExited;

    /// <summary>Starts the command under setsid, so it leads a new process group as a terminal's foreground job does.</summary>
    public static RunningProcess Start(ProcessStartInfo dotnet)
    {
        var psi = new ProcessStartInfo("setsid") { ArgumentList = { dotnet.FileName } };
        foreach (var a in dotnet.ArgumentList) psi.ArgumentList.Add(a);
        return Launch(dotnet, psi);
    }

    /// <summary>
    /// Starts the command in a pseudo-terminal of its own (util-linux `script`), as a developer's terminal runs it: Ctrl-C is
    /// then a keystroke (<see cref="PressCtrlC"/>) that the terminal turns into SIGINT for the foreground group, or that a
    /// program reading keys (dotnet watch) sees as a key — a signal sent without a terminal is not the same thing to it.
    /// </summary>
    public static RunningProcess StartInTerminal(ProcessStartInfo dotnet)
    {
        var command = string.Join(' ', new[] { dotnet.FileName }.Concat(dotnet.ArgumentList).Select(a => "'" + a.Replace("'", "'\\''") + "'"));
        var psi = new ProcessStartInfo("setsid")
        {
            RedirectStandardInput = true, ArgumentList = { "script", "--quiet", "--flush", "--return", "--command", command, "/dev/null" },
        };
        return Launch(dotnet, psi);
    }

    /// <summary>
    /// Starts <paramref name="wrapper"/> (which runs the command) in the command's folder with the command's environment exactly,
    /// variables it removed included (a new start info begins with this process's), reading its output line by line.
    /// </summary>
    private static RunningProcess Launch(ProcessStartInfo command, ProcessStartInfo wrapper)
    {
        wrapper.WorkingDirectory = command.WorkingDirectory;
        wrapper.RedirectStandardOutput = wrapper.RedirectStandardError = true;
        foreach (var k in wrapper.Environment.Keys.Where(k => !command.Environment.ContainsKey(k)).ToList()) wrapper.Environment.Remove(k);
        foreach (var (k, v) in command.Environment) wrapper.Environment[k] = v;
        var p = new RunningProcess(new Process { StartInfo = wrapper });
        p._process.Start();
        p._process.BeginOutputReadLine();
        p._process.BeginErrorReadLine();
        return p;
    }

    /// <summary>Ctrl-C on the terminal of a process started by <see cref="StartInTerminal"/>.</summary>
    public void PressCtrlC()
    {
        _process.StandardInput.Write('\u0003');
        _process.StandardInput.Flush();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_gate) _output.AppendLine(line.Length > 1000 ? line[..200] + " …" : line);
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; false if the process exits or time runs out first.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Output.Contains(text)) return true;
            if (_process.HasExited) return Output.Contains(text);
            await Task.Delay(200);
        }
        return false;
    }

    /// <summary>Waits for exit; kills the whole group if it does not exit in time. Returns the exit code, or null when killed.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            // What a hang needs to be understood, in the output the failed assertion shows (a lost Ctrl-C and a stuck
            // shutdown look the same from outside: one dotnet watch run did not exit after Ctrl-C and was never reproduced).
            foreach (var line in await ProcessTree.DescribeAsync(_process.Id)) Append("[test] " + line);
            Kill();
            return null;
        }
    }

    private void Kill()
    {
        try
        {
            Cli.SignalGroup(_process.Id, 9);
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}
