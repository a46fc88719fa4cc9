using ProxyStack.Diagnostics;

namespace ProxyStack.Execution;

/// <summary>
/// A per-stack, per-machine lock (an exclusively opened file in the temp folder), so two bring-ups of one stack — two
/// terminals, or an IDE and a terminal — run one after the other instead of racing for the same names.
/// The OS releases it when the process dies, so a crashed run never leaves the stack locked. The holder writes who it is
/// (pid and command) beside the lock, so a waiter that gives up can name it; the wait is bounded.
/// </summary>
internal sealed class StackLock : IDisposable
{
    private readonly FileStream _file;
    private readonly string _holderFile;

    private StackLock(FileStream file, string holderFile)
    {
        _file = file;
        _holderFile = holderFile;
    }

    public static string PathFor(string stack) => Path.Combine(Path.GetTempPath(), $"proxystack-{stack}.lock");

    /// <summary>Throws <see cref="StackException"/> with STACK4014 after <paramref name="limit"/>, or STACK4015 when the file cannot be opened at all.</summary>
    public static async Task<StackLock> AcquireAsync(string stack, IStackLog log, TimeSpan limit, CancellationToken ct)
    {
        var path = PathFor(stack);
        var holderFile = path + ".holder";
        var deadline = DateTime.UtcNow + limit;
        var waiting = false;
        while (true)
        {
            try
            {
                var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
                TryWriteHolder(holderFile);
                return new StackLock(file, holderFile);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new StackException(Diagnostic.Error(nameof(Strings.LockUnavailable), path, stack, e.Message), e);
            }
            catch (IOException e) when (e is DirectoryNotFoundException or PathTooLongException or DriveNotFoundException)
            {
                throw new StackException(Diagnostic.Error(nameof(Strings.LockUnavailable), path, stack, e.Message), e);
            }
            catch (IOException)
            {
                if (DateTime.UtcNow >= deadline)
                    throw new StackException(Diagnostic.Error(nameof(Strings.LockTimeout), stack, ReadHolder(holderFile), (int)limit.TotalSeconds));
                if (!waiting) log.Milestone($"Stack '{stack}': waiting for another bring-up or teardown of this stack to finish ({ReadHolder(holderFile)}).");
                waiting = true;
                await Task.Delay(250, ct).ConfigureAwait(false);
            }
        }
    }

    private static void TryWriteHolder(string holderFile)
    {
        try
        {
            var command = Environment.CommandLine;
            if (command.Length > 160) command = command[..160] + "…";
            File.WriteAllText(holderFile, $"pid {Environment.ProcessId}: {command}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static string ReadHolder(string holderFile)
    {
        try { return File.Exists(holderFile) ? File.ReadAllText(holderFile).Trim() : "holder unknown"; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "holder unknown"; }
    }

    public void Dispose()
    {
        try { File.Delete(_holderFile); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        _file.Dispose();
    }
}
