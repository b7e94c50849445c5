"""Every Block Kit payload Rapport sends is built here, one module per surface."""
