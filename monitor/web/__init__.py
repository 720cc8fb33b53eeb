"""The read-only web view (`monitor serve`): pages of the history, Atom feeds, strict headers.

`app` builds the Starlette application and its routes, `pages` the page handlers, `feeds` the
Atom feeds, `chart` the server-rendered SVG timeline, `security` the headers and the
authentication a non-loopback bind requires, and `server` runs it under uvicorn.
"""
