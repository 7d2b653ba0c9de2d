"""The labelled images as arrays, and the known/unknown split."""
