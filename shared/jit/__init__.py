"""Just-in-time password migration: Entra's OnPasswordSubmit custom authentication extension.

Entry points: `shared.bootstrap.open_jit_service(settings, state_dir=…, telemetry=…)` → JitService.handle(...);
`build_app(service, …)` for the local aiohttp host. See docs/jit.md.
"""
