"""Shipped weights and the default schema, installed as the package `latentlab.data`."""
