"""Analysis: item and test statistics after a sitting window closes. Plain Python and NumPy."""
