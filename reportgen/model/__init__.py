"""The model stage: features, segments, their continuity, profiles, personas, actions."""
