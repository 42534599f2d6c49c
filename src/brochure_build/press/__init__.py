"""The press stage: what WeasyPrint's PDFs need before they leave: post-processing of the print
and screen files (PDF/X-4, PDF/UA-1 structure) and imposition for saddle stitching."""
