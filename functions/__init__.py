"""Azure Functions trigger adapters: parse the message, call the shared handler, send what follows."""
