"""The Streamlit shell of Gradient & Scaling Lab: app, page registry, widgets bound
to the URL, figure defaults. Knows Streamlit; holds no math (that lives in engine/)."""
