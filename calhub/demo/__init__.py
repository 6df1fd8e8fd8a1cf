"""The demo hub: the gymnasium, its real partners and a realistic term of events."""
