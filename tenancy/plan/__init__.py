"""Pure planning functions: no Pulumi imports."""
