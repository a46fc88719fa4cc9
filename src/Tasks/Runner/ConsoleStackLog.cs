using ProxyStack.Execution;

namespace ProxyStack.Runner;

/// <summary><see cref="IStackLog"/> for the runner: milestones and steps to stdout, detail only when asked for.</summary>
internal sealed class ConsoleStackLog(bool verbose) : IStackLog
{
    private readonly object _gate = new();
    public void Milestone(string message) => Write(Console.Out, message);
    public void Step(string message) => Write(Console.Out, message);
    public void Progress(string message) => Write(Console.Out, message);
    public void Detail(string message) { if (verbose) Write(Console.Out, message); }
    public void Error(string message) => Write(Console.Error, message);
    public void Warn(Diagnostics.Diagnostic warning) => Write(Console.Error, "warning " + warning.Format());

    public void Write(TextWriter writer, string message)
    {
        lock (_gate) writer.WriteLine(message);
    }
}
