# ERROR: Empty topology
