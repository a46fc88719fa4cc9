using ProxyStack.Runner;

// The tasks assembly doubles as the foreground process of `dotnet run` (see Sdk.targets, _StackComputeRunArguments):
//   dotnet ProxyStack.Tasks.dll run <model.json>
// It must not touch MSBuild types: MSBuild is not loaded when it runs as a program.
return await StackRunner.MainAsync(args).ConfigureAwait(false);
