"""The service source copied into every bento (see ``service.py``)."""
