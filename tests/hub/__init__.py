"""Tests of the hub package: the base and deck layers, the store and server, the runtime and video."""
