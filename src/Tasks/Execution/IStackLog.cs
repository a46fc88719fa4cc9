namespace ProxyStack.Execution;

/// <summary>The core's logging abstraction; the MSBuild adapter maps it to TaskLoggingHelper importances.</summary>
internal interface IStackLog
{
    /// <summary>High importance: "Stack 'hellostack': 2 changes."</summary>
    void Milestone(string message);

    /// <summary>Normal importance: one line per plan step with its cause.</summary>
    void Step(string message);

    /// <summary>Low importance: engine requests, timings.</summary>
    void Detail(string message);

    /// <summary>A coded warning (MSBuild warning with its code; on the console, "warning STACKnnnn: …").</summary>
    void Warn(Diagnostics.Diagnostic warning);
}
