"""The Hugging Face Space's template files (``app.py``, ``requirements.txt``, ``README.md``), shipped as
package data so that ``hub space build`` assembles a Space from an installed yolodeck."""
