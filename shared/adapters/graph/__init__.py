"""Microsoft Graph adapter (msgraph-sdk): the Directory port, its throttle budget, and client construction."""
