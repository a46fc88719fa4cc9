namespace ProxyStack.Execution;

/// <summary>
/// A per-stack, per-machine lock (an exclusively opened file in the temp folder), so two bring-ups of one stack — two
/// terminals, or an IDE and a terminal — run one after the other instead of racing for the same names.
/// The OS releases it when the process dies, so a crashed run never leaves the stack locked.
/// </summary>
internal sealed class StackLock : IDisposable
{
    private readonly FileStream _file;

    private StackLock(FileStream file) => _file = file;

    public static async Task<StackLock> AcquireAsync(string stack, IStackLog log, CancellationToken ct)
    {
        var path = Path.Combine(Path.GetTempPath(), $"proxystack-{stack}.lock");
        var waiting = false;
        while (true)
        {
            try
            {
                return new StackLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose));
            }
            catch (IOException)
            {
                if (!waiting) log.Milestone($"Stack '{stack}': waiting for another bring-up or teardown of this stack to finish.");
                waiting = true;
                await Task.Delay(250, ct).ConfigureAwait(false);
            }
        }
    }

    public void Dispose() => _file.Dispose();
}
