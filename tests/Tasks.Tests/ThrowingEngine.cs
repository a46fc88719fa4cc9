using ProxyStack.Engine;
using ProxyStack.Planning;

namespace ProxyStack.Tests;

/// <summary>An engine every call of which throws the given exception: proves that no exception type escapes a task uncoded.</summary>
internal sealed class ThrowingEngine(Exception fault) : IContainerEngine
{
    public string Endpoint => "fake://engine";
    private Task Fail() => Task.FromException(fault);
    private Task<T> Fail<T>() => Task.FromException<T>(fault);
    public Task PingAsync(CancellationToken ct) => Fail();
    public Task<(IReadOnlyList<ObservedContainer> Containers, IReadOnlyList<ObservedNetwork> Networks)> ListStackResourcesAsync(string stack, IReadOnlyCollection<string> names, CancellationToken ct) =>
        Fail<(IReadOnlyList<ObservedContainer>, IReadOnlyList<ObservedNetwork>)>();
    public Task<(string Id, IReadOnlyDictionary<string, string> Labels, string User)?> InspectImageAsync(string reference, CancellationToken ct) => Fail<(string, IReadOnlyDictionary<string, string>, string)?>();
    public Task PullImageAsync(string reference, CancellationToken ct) => Fail();
    public Task<string?> RemoveImageUnlessHeldAsync(string id, CancellationToken ct) => Fail<string?>();
    public Task BuildImageAsync(string tag, Stream context, IReadOnlyDictionary<string, string> labels, CancellationToken ct) => Fail();
    public Task CreateNetworkAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct) => Fail();
    public Task<string?> HostGatewayAsync(CancellationToken ct) => Fail<string?>();
    public Task<bool> IsRootlessAsync(CancellationToken ct) => Fail<bool>();
    public Task<bool> RemoveNetworkAsync(string name, CancellationToken ct) => Fail<bool>();
    public Task<IReadOnlyList<ObservedVolume>> ListStackVolumesAsync(string stack, IReadOnlyCollection<string> names, CancellationToken ct) => Fail<IReadOnlyList<ObservedVolume>>();
    public Task CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct) => Fail();
    public Task<bool> RemoveVolumeAsync(string name, CancellationToken ct) => Fail<bool>();
    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct) => Fail<string>();
    public Task StartContainerAsync(string name, CancellationToken ct) => Fail();
    public Task RenameContainerAsync(string name, string newName, CancellationToken ct) => Fail();
    public Task<EngineDns> DnsAsync(CancellationToken ct) => Fail<EngineDns>();
    public Task RejoinNetworkAsync(string name, string network, string alias, CancellationToken ct) => Fail();
    public Task StopContainerAsync(string name, TimeSpan timeout, CancellationToken ct) => Fail();
    public Task<bool> RemoveContainerAsync(string name, CancellationToken ct) => Fail<bool>();
    public Task<ContainerStatus?> InspectContainerAsync(string name, string network, CancellationToken ct) => Fail<ContainerStatus?>();
    public Task<string> GetLogsAsync(string name, int tail, CancellationToken ct) => Fail<string>();
    public Task FollowLogsAsync(string name, Action<string> onLine, CancellationToken ct, DateTimeOffset? since = null) => Fail();
    public Task<(long ExitCode, string Output)> ExecAsync(string name, IReadOnlyList<string> command, CancellationToken ct) => Fail<(long, string)>();
    public Task WriteFileAsync(string name, string path, string content, CancellationToken ct) => Fail();
    public Task<string?> ReadFileAsync(string name, string path, CancellationToken ct) => Fail<string?>();
    public Task<string?> ReadImageFileAsync(string name, string path, CancellationToken ct) => Fail<string?>();
}
