"""Where the unknown images' labels come from: embeddings, label inference, the teacher registry, the targets a teacher's probabilities become, and view banks."""
