"""Test support shipped with the package: crash points and the fault-injecting proxy."""
