"""The REST transport: the same RPCs as HTTP/JSON requests, from the generated ``HttpRule``s.

``templates`` expands and matches path templates, ``http_call`` turns a request message into
an HTTP request by its method's rules (path, body, query) and back (the fake's side),
``errors`` holds the HTTP status table and Google's JSON error body, and ``connection`` the
httpx client a call path keeps per event loop.
"""
