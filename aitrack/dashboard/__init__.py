"""The dashboard page and the HTML report: stored views in, server-rendered HTML with inline SVG charts out."""
