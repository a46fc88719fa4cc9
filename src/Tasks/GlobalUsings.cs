global using ProxyStack.Resources;
