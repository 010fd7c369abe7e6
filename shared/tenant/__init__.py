"""tenant.toml: the external tenant's setup as code (model, plan/apply, export)."""
