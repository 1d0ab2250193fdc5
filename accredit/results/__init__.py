"""Results: scoring attempts into stored results, releasing them, and recomputing them."""
