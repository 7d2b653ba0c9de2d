"""Plumbing every layer uses and that knows nothing of the study: the array cache, the torch device, progress bars."""
