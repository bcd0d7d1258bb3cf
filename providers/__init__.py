"""alloy-users: the AlloyUser dynamic provider, its Alloy client and the manifest reader."""
