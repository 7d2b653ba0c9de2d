"""The student: the CNNs, the one training loop, its objectives and its budget."""
