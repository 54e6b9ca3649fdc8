"""The domain core: incidents, grades, rendering. Imports no chat platform and no storage driver."""
