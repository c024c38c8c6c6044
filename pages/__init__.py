"""One module per topic, each exposing ``render()``. Thin: widgets -> engine -> figures."""
