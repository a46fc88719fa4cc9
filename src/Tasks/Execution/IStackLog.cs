namespace ProxyStack.Execution;

/// <summary>The core's logging abstraction; the MSBuild adapter maps it to TaskLoggingHelper importances.</summary>
internal interface IStackLog
{
    /// <summary>High importance: "Stack 'hellostack': 2 changes."</summary>
    void Milestone(string message);

    /// <summary>Normal importance: one line per plan step with its cause.</summary>
    void Step(string message);

    /// <summary>
    /// A line a person watches the bring-up by: a step done and how long it took ("hellostack-app-1 ready (2.1 s)"). Normal
    /// importance in a build log; under `dotnet run`, whose build prints nothing below a warning, on the console as well.
    /// </summary>
    void Progress(string message);

    /// <summary>Low importance: engine requests, timings.</summary>
    void Detail(string message);

    /// <summary>A coded warning (MSBuild warning with its code; on the console, "warning STACKnnnn: …").</summary>
    void Warn(Diagnostics.Diagnostic warning);
}
