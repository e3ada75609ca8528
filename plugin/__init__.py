"""Host-neutral core of the MatAnyone plugin: plates, colour, shots, jobs, worker, CLI.

Importing this package loads nothing heavy: hosts import `plugin.protocol` and
`plugin.client` from their own Python (DESIGN.md, Contracts: Host Python).
"""
