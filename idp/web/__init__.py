"""HTTP in, HTTP out: parse the request, call one service, render or serialise."""
