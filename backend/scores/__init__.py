"""Episode quality scores: every signal of every episode, a learned rating, kept beside the dataset."""
