namespace ProxyStack.Diagnostics;

/// <summary>Every diagnostic code ProxyStack can emit. Codes are stable: never renumber or reuse one; retired codes stay here, commented.</summary>
internal static class DiagnosticCodes
{
    public const string StackNameInvalid = "STACK1001";
    public const string StackNameNormalized = "STACK1002";
    public const string ReplicasOutOfRange = "STACK1003";
    public const string PortInvalid = "STACK1004";
    public const string HostAddressInvalid = "STACK1005";
    public const string HealthPathInvalid = "STACK1006";
    public const string ReadyTimeoutInvalid = "STACK1007";
    public const string ImageReferenceInvalid = "STACK1008";
    public const string RegistryMirrorInvalid = "STACK1009";
    public const string NetworkModeInvalid = "STACK1010";
    public const string HostAddressAllInterfaces = "STACK1011";
    public const string BooleanInvalid = "STACK1012";
    public const string EnvironmentInvalid = "STACK1013";
    public const string LinkModeLegacy = "STACK1014";
    public const string HostModePortRange = "STACK1015";
    public const string SecretSourceConflict = "STACK1016";
    public const string SecretSourceInvalid = "STACK1017";
    public const string SecretUnavailable = "STACK1018";
    public const string HostAddressNotCanonical = "STACK1019";
    public const string HostModePrivilegedPort = "STACK1020";
    public const string ContainerUserRoot = "STACK1021";
    public const string EnvironmentOwned = "STACK1022";
    public const string UserSecretsInvalid = "STACK1023";
    public const string SecondsInvalid = "STACK1024";
    public const string MaxRequestBodySizeInvalid = "STACK1025";
    public const string ProxyReadTimeoutInvalid = "STACK1026";
    public const string SignalRWithoutAffinity = "STACK1027";
    public const string SessionAffinityInvalid = "STACK1028";
    public const string BaseImageUnavailable = "STACK2001";
    public const string ProxyImageBuildFailed = "STACK2002";
    public const string AppImageMissing = "STACK2003";
    public const string EngineUnreachable = "STACK3001";
    public const string EngineRequestFailed = "STACK3002";
    public const string HostNetworkUnsupported = "STACK3003";
    public const string EngineEndpointInvalid = "STACK3004";
    public const string UnexpectedFailure = "STACK3005";
    public const string ForeignContainer = "STACK4001";
    public const string ForeignNetwork = "STACK4002";
    public const string HostPortInUse = "STACK4003";
    public const string ReplicaNotReady = "STACK4004";
    public const string ReplicaExited = "STACK4005";
    public const string ApplyCancelled = "STACK4006";
    public const string ApplyStepFailed = "STACK4007";
    public const string ProxyReloadFailed = "STACK4008";
    public const string TeardownFailed = "STACK4009";
    public const string ProxyNotReady = "STACK4010";
    public const string ReplicaPortInUse = "STACK4011";
    public const string StackOwnedElsewhere = "STACK4012";
    public const string UndoFailed = "STACK4013";
    public const string LockTimeout = "STACK4014";
    public const string LockUnavailable = "STACK4015";
    public const string ContainerSupportMissing = "STACK5001";
}
