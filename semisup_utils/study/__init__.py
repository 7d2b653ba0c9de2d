"""Runs and their keys, the results store, executing grids, label and teacher runs, the statistics of stored runs, and the named profiles."""
