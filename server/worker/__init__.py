"""The reference upload worker (`vdist worker`): lease, publish through a plugin, report."""
