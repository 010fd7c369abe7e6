"""ciam-migrate core: records, messages, handlers and ports. Never imports azure.functions."""
