"""The ground floor: errors, the workspace rule, latent files, generator ids, shipped data files."""
