"""Tests of training: datasets and their imports, training, metrics, deck builds and their workers."""
