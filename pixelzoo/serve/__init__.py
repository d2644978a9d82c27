"""`pixelzoo serve`: a local web page to paint holes on a face and watch a model fill them.

The package is the optional `serve` extra's code: `command` (the CLI and uvicorn), `app` (the
Starlette routes), `pool` (the models a server may load, and its bounded workers), `adapter`
(every model call), `pictures` (checked uploads, PNGs, masks, scores), `samples` (sample faces)
and `static/` (the page: plain JavaScript and CSS, no build step, nothing from a CDN). Importing
this package imports nothing heavy; the web framework is imported only when a server starts.
"""
