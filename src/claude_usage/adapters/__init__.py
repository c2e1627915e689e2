"""Adapters: one module per outside thing; each turns foreign errors into ours at the seam."""
