"""The parts of the Engine facade, one per noun."""
