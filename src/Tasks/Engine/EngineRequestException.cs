namespace ProxyStack.Engine;

/// <summary>The engine answered but refused a request (conflict, bad parameter, server error).</summary>
internal sealed class EngineRequestException(string operation, string reason, bool conflict, Exception? inner = null)
    : Exception($"{operation}: {reason}", inner)
{
    public string Operation { get; } = operation;
    public string Reason { get; } = reason;
    public bool IsConflict { get; } = conflict;
}
