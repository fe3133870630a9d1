"""Printed outputs of an event (heat book, heat sheets, judge sheets, back numbers, results).

Rendered with reportlab from the print data alone (the dict built by
``showcase.event.print_data``), so the event app and a router acting as a PDF
appliance render the same PDFs.  Importing this package does not import reportlab.
"""

from .logo import with_logo_file
from .paths import split_pdf_path
from .render import render_path

__all__ = ["render_path", "split_pdf_path", "with_logo_file"]
