using ProxyStack.Runner;

// The tasks assembly doubles as a program (see Sdk.targets, _StackComputeRunArguments, and ApplyStack):
//   dotnet ProxyStack.Tasks.dll run <model.json>                 the foreground of `dotnet run`
//   dotnet ProxyStack.Tasks.dll reap <model.json> <pid> <marker>  removes a `dotnet run` stack once that process is gone
// It must not touch MSBuild types: MSBuild is not loaded when it runs as a program.
try
{
    return args is ["reap", ..]
        ? await StackReaper.MainAsync(args).ConfigureAwait(false)
        : await StackRunner.MainAsync(args).ConfigureAwait(false);
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    // Never a stack trace: the coded form every other failure has.
    Console.Error.WriteLine("error " + ProxyStack.Diagnostics.Diagnostic.Error(nameof(ProxyStack.Resources.Strings.UnexpectedFailure), "ProxyStack.Tasks", e.GetType().Name, e.Message).Format());
    return 1;
}
