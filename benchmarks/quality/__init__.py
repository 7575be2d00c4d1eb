"""Search quality: our modes against the peers on benchmark files, the sets they are built from, fusion sweeps."""
