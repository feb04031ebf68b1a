"""Models built on the DCNv3 modules (InternImage backbone)."""

from .intern_image import InternImageBackbone

__all__ = ["InternImageBackbone"]
