"""The computation behind Gradient & Scaling Lab, importable without Streamlit.

Pure functions and dataclasses; randomness takes a ``seed`` argument. A test imports
every module here with Streamlit made unimportable.
"""
