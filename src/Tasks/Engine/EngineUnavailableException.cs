using System.Net.Sockets;
using ProxyStack.Diagnostics;

namespace ProxyStack.Engine;

/// <summary>The engine could not be reached at all (no socket, refused, timed out, or this user may not use its socket).</summary>
internal sealed class EngineUnavailableException(string endpoint, string reason, Exception? inner = null)
    : Exception($"Cannot reach the Docker engine at '{endpoint}': {reason}", inner)
{
    public string Endpoint { get; } = endpoint;
    public string Reason { get; } = reason;

    /// <summary>
    /// Whether the engine's socket refused this user (EACCES: on Linux, a user not in the group that owns
    /// /var/run/docker.sock) — an engine that runs, which "start Docker" would not help.
    /// </summary>
    public bool Denied { get; } = IsDenied(inner);

    private static bool IsDenied(Exception? e) => e switch
    {
        null => false,
        SocketException { SocketErrorCode: SocketError.AccessDenied } or UnauthorizedAccessException => true,
        _ => IsDenied(e.InnerException),
    };

    /// <summary>What the user is told: STACK3008 with the way to be let in when the socket refused them, else STACK3001.</summary>
    public Diagnostic ToDiagnostic() => Denied
        ? Diagnostic.Error(nameof(Strings.EngineSocketDenied), Endpoint)
        : Diagnostic.Error(nameof(Strings.EngineUnreachable), Endpoint, Reason);
}
