"""Datasets in the YOLO layout: synth-shelves (default), synth-digits, and the SKU-110K converter."""
